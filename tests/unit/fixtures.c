/*
 * fixtures — set-ups that several unit suites share.
 */
#include "fixtures.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void fixture_pkg_head(struct pkg_head *h, const char *const *names, size_t n)
{
	memset(h, 0, sizeof *h);
	memcpy(h->id, FIXTURE_PKG_ID, PKG_ID_LEN + 1);
	h->protocol_id = "p-1";
	h->protocol_version = "1.0";
	h->protocol_digest = "sha256:00";
	h->discloser_name = "Opgroeien";
	h->discloser_key_id = "ABCDEF";
	h->recipient_name = "SIA";
	h->recipient = "age1xyz";
	memcpy(h->created_at, "2026-11-29T10:00:00Z", PKG_TIME_LEN + 1);
	h->fields = names;
	h->n_fields = n;
}

void fixture_rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[PATH_MAX];

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		if (unlink(p) != 0)
			fixture_rm_tree(p);
	}
	closedir(d);
	rmdir(dir);
}

static struct penum_value fxp_types[] = {
	{ .value = "gezinsopvang" },
	{ .value = "groepsopvang" },
	{ .value = "buitenschoolse opvang" },
};

const struct pfield fixture_psel_fields[FXP_N] = {
	{ .index = FXP_START, .name = "startdatum", .type = PF_DATE },
	{ .index = FXP_STOP, .name = "datum_stopzetting", .type = PF_DATE },
	{ .index = FXP_CAP, .name = "capaciteit", .type = PF_INT,
	  .has_min = true, .min = 1, .has_max = true, .max = 500 },
	{ .index = FXP_TYPE, .name = "vergunningstype", .type = PF_ENUM,
	  .values = fxp_types, .n_values = 3 },
	{ .index = FXP_IKT, .name = "ikt", .type = PF_BOOL,
	  .true_value = "ja", .false_value = "nee" },
	{ .index = FXP_GEM, .name = "gemeente", .type = PF_TEXT },
	{ .index = FXP_MAIL, .name = "email", .type = PF_EMAIL },
};
