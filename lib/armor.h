/*
 * armor — the age ASCII armor (strict PEM, RFC 7468 §3, label
 * "AGE ENCRYPTED FILE"), streaming in both directions.
 *
 * Decoding is strict as the age spec asks: whitespace is allowed only before
 * the BEGIN line and after the END line; lines are exactly 64 columns but
 * the last, which has 1..64; base64 is padded and canonical; LF or CRLF line
 * endings.  The decoder is a ksrc: it reports end of input only after the
 * END line and the trailer have been checked, so a consumer that holds back
 * its last block until EOF never releases data from a malformed armor.
 */
#ifndef KLUIS_ARMOR_H
#define KLUIS_ARMOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kerr.h"
#include "kio.h"

#define ARMOR_BEGIN "-----BEGIN AGE ENCRYPTED FILE-----"
#define ARMOR_END "-----END AGE ENCRYPTED FILE-----"
#define ARMOR_COLUMNS 64

struct armor_dec {
	struct ksrc base;
	struct kreader *raw;  /* borrowed */
	int state;            /* internal */
	bool final_seen;      /* a short or padded line was read */
	uint8_t pend[48];
	size_t pend_len, pend_pos;
};

/* Decode armor read from `raw` (borrowed, must outlive the decoder). */
void armor_dec_init(struct armor_dec *a, struct kreader *raw);

struct armor_enc {
	struct ksink base;
	struct ksink *out;    /* borrowed */
	bool started;
	uint8_t part[48];
	size_t part_len;
	char line[ARMOR_COLUMNS * 64 + 64]; /* batched output lines */
	size_t line_len;
};

/* Encode everything written to a->base into `out`. */
void armor_enc_init(struct armor_enc *a, struct ksink *out);
/* Write the last line and the END line. */
int armor_enc_finish(struct armor_enc *a, struct kerr *e);

#endif
