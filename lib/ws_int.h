/*
 * ws_int.h — the workspace handle as the store modules (ws, wskey, audit,
 * wsdata) see it.  Not part of the public interface: only layer 3 code
 * includes this, and it is not installed.
 */
#ifndef KLUIS_WS_INT_H
#define KLUIS_WS_INT_H

#include <sqlite3.h>

#include "ws.h"

struct ws {
	char dir[4096];
	char what[64];                /* for messages: "workspace" */
	sqlite3 *db;
	struct protocol *p;
	char id[WS_ID_LEN + 1];
	uint8_t id_bin[16];
	uint8_t sign_pk[32];
};

/* meta value by key into out (cap bytes); KERR_FORMAT if missing. */
int ws_meta_get(struct ws *w, const char *key, char *out, size_t cap,
		struct kerr *e);
int ws_meta_set(struct ws *w, const char *key, const char *value,
		struct kerr *e);

#endif
