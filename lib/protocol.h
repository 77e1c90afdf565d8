/*
 * protocol — the protocol file as an immutable, validated model.
 *
 * protocol_load() reads the JSON (docs/protocol-format.md), checks all of
 * it, and on success returns a model in which every reference is resolved:
 * fields by index with their matching keys precomputed, the selection rule
 * compiled, durations parsed, keys decoded.  Nothing changes a loaded
 * protocol; share it freely between threads.  Strings in the model point
 * into `doc` and live as long as the protocol.
 *
 * Every problem found goes to a struct pdiag with its JSON path; loading
 * fails (KERR_FORMAT) if there is any error.  Warnings (empty keys, no
 * signing date, no DPO e-mail) do not fail the load; callers that need the
 * keys check protocol_keys_set().
 */
#ifndef KLUIS_PROTOCOL_H
#define KLUIS_PROTOCOL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kbuf.h"
#include "kerr.h"
#include "minisign.h"
#include "pdiag.h"

#define PROTOCOL_FORMAT 1
#define PROTOCOL_FILE_MAX (4u << 20)   /* largest protocol file read */
#define PROTOCOL_DIGEST_LEN 71         /* "sha256:" + 64 hex digits */

enum pfield_type {
	PF_TEXT,
	PF_EMAIL,
	PF_PHONE,
	PF_DATE,
	PF_INT,
	PF_ENUM,
	PF_BOOL,
};

enum pfield_category {
	PF_IDENTIFYING, /* sealed in the recipient's vault */
	PF_ATTRIBUTE,   /* research data */
};

/* One enum value with everything that matches it. */
struct penum_value {
	const char *value;   /* canonical, what packages carry */
	const char *label;   /* for people (= value if not given) */
	char **keys;         /* norm_match_key of value, label, aliases */
	size_t n_keys;
};

struct pfield {
	size_t index;                /* position in protocol->fields */
	const char *name;
	const char *label;
	const char *description;     /* "" if none */
	enum pfield_type type;
	enum pfield_category category;
	bool required;
	bool blank_invalid;          /* on_invalid: blank (else reject) */
	char **header_keys;          /* match keys of name, label, aliases */
	size_t n_header_keys;
	/* text */
	size_t max_length;           /* code points */
	/* int */
	bool has_min, has_max;
	long long min, max;
	/* date: "" when unbounded */
	char date_min[11], date_max[11];
	/* phone */
	const char *region;          /* "BE" */
	/* enum */
	struct penum_value *values;
	size_t n_values;
	/* bool: match keys, and the normalised spellings */
	char **true_keys, **false_keys;
	size_t n_true, n_false;
	const char *true_value, *false_value;
};

struct pparty {
	const char *name;            /* short name used in the text */
	const char *legal_name;
	const char *address;
	const char *rep_name, *rep_function;
	const char *description;
	const char *dpo_name, *dpo_email, *dpo_advice_date;
	const char *age_recipient;   /* "age1…" or "" */
	const char *minisign_key;    /* base64 or "" */
	bool has_keys;               /* both set (and valid) */
	uint8_t age_pk[32];
	struct ms_pubkey ms;
};

struct pservice {
	const char *id;
	const char *name;
};

enum prole_name {
	PROLE_CUSTODIAN,
	PROLE_RESEARCHER,
	PROLE_DPO,
	PROLE_ADMIN,
	PROLE_COUNT,
};

/* Permissions: bits of struct prole.perms. */
enum pperm {
	PP_RECEIVE = 1u << 0,
	PP_REIDENTIFY = 1u << 1,
	PP_QUERY = 1u << 2,
	PP_STATS = 1u << 3,
	PP_SURVEY = 1u << 4,
	PP_QUALITY = 1u << 5,
	PP_INCIDENT = 1u << 6,
	PP_DISCLOSE = 1u << 7,
	PP_BACKUP = 1u << 8,
	PP_PURGE = 1u << 9,
	PP_AUDIT = 1u << 10,
	PP_EVIDENCE = 1u << 11,
	PP_USERS = 1u << 12,
};
#define PP_COUNT 13

struct prole {
	bool defined;
	unsigned perms;
	const char *description;     /* "" if none */
	const char **services;       /* service ids */
	size_t n_services;
};

/* A duration with one unit: 'Y', 'M', 'D' or 'H'; n == 0 is "at once". */
struct pduration {
	char unit;
	unsigned n;
	const char *iso;             /* as written, e.g. "P1Y" */
};

enum pperiodicity {
	PPER_ONCE,
	PPER_DAILY,
	PPER_WEEKLY,
	PPER_MONTHLY,
	PPER_QUARTERLY,
	PPER_YEARLY,
};

enum ponward {
	PONWARD_FORBIDDEN,
	PONWARD_PRIOR_NOTICE,
	PONWARD_ALLOWED,
};

struct pmeasure {
	const char *id;
	const char *text;
};

struct psel; /* compiled selection rule, psel.h */

struct protocol {
	json_t *doc;                 /* the validated document */
	char digest[PROTOCOL_DIGEST_LEN + 1];
	const char *id, *version, *title, *context, *legal_framework;
	const char *signed_date, *signed_place;
	struct pparty discloser, recipient;
	struct pservice *services;   /* the recipient's */
	size_t n_services;
	struct pfield *fields;
	size_t n_fields;
	struct psel *selection;
	enum pperiodicity periodicity;
	const char *method, *channel;
	struct pduration retention;
	bool retention_from_receipt; /* else from transfer */
	bool retention_aggregate_only; /* else destroy everything */
	bool need_to_know;
	enum ponward onward;
	struct prole roles[PROLE_COUNT];
	struct pmeasure *measures;
	size_t n_measures;
	size_t n_processors;
	struct pduration quality_report, quality_action;
	struct pduration incident_controller, breach_notification;
	struct pduration change_notification; /* unit 0 if absent */
	unsigned min_cell_count, dominance_top, dominance_percent;
	struct pduration survey_reminder;     /* unit 0 if absent */
};

/*
 * Load and check.  On success *out is the model (free with
 * protocol_free) and d holds the warnings; on failure *out is NULL, the
 * code is KERR_FORMAT if the file has errors (all of them in d), or
 * KERR_IO/KERR_NOMEM/KERR_LIMIT for the file itself.
 */
int protocol_load(const char *path, struct protocol **out, struct pdiag *d,
		  struct kerr *e);
int protocol_parse(const char *text, size_t len, struct protocol **out,
		   struct pdiag *d, struct kerr *e);
void protocol_free(struct protocol *p);

/* Field by exact name, or NULL. */
const struct pfield *protocol_field(const struct protocol *p,
				    const char *name);
/* Field whose name, label or alias matches a column header (ignoring
 * case, accents, spaces, punctuation), or NULL. */
const struct pfield *protocol_field_by_header(const struct protocol *p,
					      const char *header, size_t len);

/* Both parties' keys are present.  Export and receive refuse otherwise. */
bool protocol_keys_set(const struct protocol *p);

/*
 * The protocol text with the parties' public keys written in (as `kluis
 * protocol set-keys` does): key order and all other content preserved,
 * indented output in `out`.  The result is checked like any protocol
 * file; errors go to d (KERR_FORMAT).
 */
int protocol_set_keys(const char *text, size_t len, const char *discloser_age,
		      const char *discloser_minisign,
		      const char *recipient_age,
		      const char *recipient_minisign, struct kbuf *out,
		      struct pdiag *d, struct kerr *e);

/* Names for messages and rendering. */
const char *pfield_type_name(enum pfield_type t);
const char *prole_name_str(enum prole_name r);
const char *pperm_name(unsigned bit);
const char *pperiodicity_name(enum pperiodicity p);

#endif
