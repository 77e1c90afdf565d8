/*
 * importq — rows on their way from the receive pass to the database
 * (layer 4, internal to receive).
 *
 * Receiving is two kinds of work of about equal weight: decrypting,
 * parsing, validating, linking and sealing on one side, SQLite inserts and
 * their writes on the other.  importq runs the second on its own thread,
 * so the two use both cores: the caller appends research and vault rows to
 * a batch; full batches go to the writer thread, which inserts them with
 * ws_import_record / ws_import_person in order.  Three batches of at most
 * 4096 rows and 1 MiB circulate, so memory stays bounded and the reader
 * waits when the writer falls behind.
 *
 * The writer thread is the only user of the database connection between
 * importq_start and importq_finish; the caller touches it again only after.
 * A batch holds research attributes and sealed identities, never an
 * identity in the clear; its bytes are wiped when the queue is freed.
 * A writer error stops the queue; the caller gets it at its next append or
 * at finish.
 */
#ifndef KLUIS_IMPORTQ_H
#define KLUIS_IMPORTQ_H

#include <stddef.h>
#include <stdint.h>

#include "kerr.h"
#include "wsdata.h"

struct importq;

int importq_start(struct importq **out, struct ws_import *im,
		  size_t n_attr, size_t n_ident, struct kerr *e);
int importq_record(struct importq *q, uint64_t record, uint64_t code,
		   const char *const *vals, const size_t *lens, struct kerr *e);
int importq_person(struct importq *q, uint64_t person, uint64_t code,
		   uint64_t first_record, const uint8_t *const *sealed,
		   const size_t *lens, struct kerr *e);
/* Hand over the last batch and wait for the writer; its error, if any. */
int importq_finish(struct importq *q, struct kerr *e);
/* Stop the writer (if running) and free.  NULL is fine. */
void importq_free(struct importq *q);

#endif
