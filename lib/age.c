/*
 * age — header parsing and writing, recipient stanzas, STREAM.
 *
 * Invariants: the file key and every derived key live in sodium_malloc'd
 * memory and are wiped on free; a plaintext chunk is handed out only after
 * its tag verified; end of data is reported only after a chunk flagged
 * final authenticated and the input ended right after it.  A short chunk
 * must be final; a full chunk is tried as non-final, then as final (as the
 * reference implementation does, so released plaintext matches the test
 * kit's expectations).
 */
#include "age.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "armor.h"
#include "b64.h"
#include "kbuf.h"
#include "hkdf.h"
#include "banned.h"

#define VERSION_LINE "age-encryption.org/v1"
#define VERSION_PREFIX "age-encryption.org/"
#define X25519_INFO "age-encryption.org/v1/X25519"
#define SCRYPT_LABEL "age-encryption.org/v1/scrypt"
/* Room for a batch plus one byte of lookahead, and slack for refills. */
#define READER_CAP ((AGE_BATCH + 2) * AGE_ENC_CHUNK_SIZE)
#define HDR "age header"
#define PAY "age payload"

/* ------------------------------------------------------------------ */
/* header parsing                                                      */

static void stanza_free(struct age_stanza *s)
{
	if (s->args)
		free(s->args[0]);
	free(s->args);
	free(s->body);
	memset(s, 0, sizeof *s);
}

void age_header_free(struct age_header *h)
{
	for (size_t i = 0; i < h->n; i++)
		stanza_free(&h->stanzas[i]);
	free(h->stanzas);
	free(h->mac_input);
	memset(h, 0, sizeof *h);
}

static int hfail(struct kerr *e, uint64_t line, const char *why)
{
	kerr_set(e, KERR_HEADER, HDR, "%s", why);
	return kerr_where(e, "line %llu", (unsigned long long)line);
}

/* Read one LF-terminated header line, appending it to the MAC input. */
static int header_line(struct kreader *r, struct kbuf *raw, const char **l,
		       size_t *len, struct kerr *e)
{
	const uint8_t *p;
	size_t n;
	bool lf;
	int rc = kreader_line(r, AGE_ENC_CHUNK_SIZE, &p, &n, &lf, e);

	if (rc == KERR_LIMIT)
		return hfail(e, r->line + 1, "header line too long");
	if (rc)
		return rc;
	if (n == 0 || !lf)
		return hfail(e, r->line + 1, "header ends early (truncated file?)");
	if (kbuf_append(raw, p, n, e) != 0)
		return hfail(e, r->line, "header larger than 1 MiB");
	*l = (const char *)p;
	*len = n - 1; /* without LF */
	return 0;
}

static bool is_vchar(char c)
{
	return c >= 0x21 && c <= 0x7e;
}

static int parse_args(const char *l, size_t len, struct age_stanza *s,
		      uint64_t line, struct kerr *e)
{
	char *copy;
	size_t n = 1;

	if (len == 0)
		return hfail(e, line, "stanza has no arguments");
	for (size_t i = 0; i < len; i++) {
		if (l[i] == ' ') {
			if (i == 0 || i == len - 1 || l[i - 1] == ' ')
				return hfail(e, line, "empty stanza argument");
			n++;
		} else if (!is_vchar(l[i])) {
			return hfail(e, line,
				     "invalid character in stanza arguments");
		}
	}
	copy = malloc(len + 1);
	s->args = calloc(n + 1, sizeof *s->args);
	if (!copy || !s->args) {
		free(copy);
		free(s->args);
		s->args = NULL;
		return kerr_set(e, KERR_NOMEM, HDR, "out of memory");
	}
	memcpy(copy, l, len);
	copy[len] = '\0';
	s->nargs = 0;
	s->args[s->nargs++] = copy;
	for (size_t i = 0; i < len; i++)
		if (copy[i] == ' ') {
			copy[i] = '\0';
			s->args[s->nargs++] = copy + i + 1;
		}
	return 0;
}

static int parse_body(struct kreader *r, struct kbuf *raw,
		      struct age_stanza *s, struct kerr *e)
{
	struct kbuf text = KBUF_INIT(AGE_HEADER_MAX);
	uint64_t first = r->line + 1;
	int rc;

	for (;;) {
		const char *l;
		size_t len;

		rc = header_line(r, raw, &l, &len, e);
		if (rc)
			goto out;
		if (len > 64) {
			rc = hfail(e, r->line,
				   "stanza body line longer than 64 columns");
			goto out;
		}
		rc = kbuf_append(&text, l, len, e);
		if (rc)
			goto out;
		if (len < 64)
			break;
	}
	s->body = malloc(text.len / 4 * 3 + 3);
	if (!s->body) {
		rc = kerr_set(e, KERR_NOMEM, HDR, "out of memory");
		goto out;
	}
	if (b64_decode((const char *)text.p, text.len, false, s->body,
		       text.len / 4 * 3 + 3, &s->body_len) != 0)
		rc = hfail(e, first, "stanza body is not canonical base64");
out:
	kbuf_free(&text);
	return rc;
}

int age_header_parse(struct kreader *r, struct age_header *h, struct kerr *e)
{
	struct kbuf raw = KBUF_INIT(AGE_HEADER_MAX);
	const char *l;
	size_t len;
	int rc;

	memset(h, 0, sizeof *h);
	rc = header_line(r, &raw, &l, &len, e);
	if (rc) {
		if (rc == KERR_HEADER && r->offset == 0)
			kerr_set(e, KERR_HEADER, HDR, "empty file");
		goto fail;
	}
	if (len != strlen(VERSION_LINE) || memcmp(l, VERSION_LINE, len) != 0) {
		if (len >= strlen(VERSION_PREFIX) &&
		    memcmp(l, VERSION_PREFIX, strlen(VERSION_PREFIX)) == 0)
			rc = hfail(e, 1, "unsupported age format version");
		else
			rc = hfail(e, 1, "not an age file");
		goto fail;
	}
	for (;;) {
		rc = header_line(r, &raw, &l, &len, e);
		if (rc)
			goto fail;
		if (len >= 3 && memcmp(l, "-> ", 3) == 0) {
			struct age_stanza *ns;

			/* Capacity doubles (8, 16, 32, ...): growing by a
			 * constant made a 1 MiB header of empty stanzas
			 * quadratic where realloc copies (ASan, valgrind). */
			if (h->n == 0 || (h->n >= 8 && (h->n & (h->n - 1)) == 0)) {
				ns = realloc(h->stanzas,
					     (h->n ? 2 * h->n : 8) * sizeof *ns);
				if (!ns) {
					rc = kerr_set(e, KERR_NOMEM, HDR,
						      "out of memory");
					goto fail;
				}
				h->stanzas = ns;
			}
			memset(&h->stanzas[h->n], 0, sizeof *h->stanzas);
			h->n++;
			rc = parse_args(l + 3, len - 3, &h->stanzas[h->n - 1],
					r->line, e);
			if (!rc)
				rc = parse_body(r, &raw, &h->stanzas[h->n - 1],
						e);
			if (rc)
				goto fail;
			continue;
		}
		if (len >= 3 && memcmp(l, "---", 3) == 0) {
			if (h->n == 0) {
				rc = hfail(e, r->line, "no recipient stanzas");
				goto fail;
			}
			if (len != 4 + 43 || l[3] != ' ' ||
			    b64_decode_exact(l + 4, 43, false, h->mac, 32) != 0) {
				rc = hfail(e, r->line, "malformed header MAC line");
				goto fail;
			}
			/* MAC covers the header up to and including "---". */
			h->mac_input_len = raw.len - (len + 1) + 3;
			h->mac_input = kbuf_take(&raw, NULL);
			return 0;
		}
		rc = hfail(e, r->line, "expected a stanza or the MAC line");
		goto fail;
	}
fail:
	kbuf_free(&raw);
	age_header_free(h);
	return rc;
}

/* ------------------------------------------------------------------ */
/* key material                                                        */

struct secrets {
	uint8_t file_key[AGE_FILE_KEY_SIZE];
	uint8_t payload_key[32];
	uint8_t mac_key[32];
	uint8_t wrap_key[32];
	uint8_t shared[32];
	uint8_t eph[32];
};

static struct secrets *secrets_new(struct kerr *e)
{
	struct secrets *s = sodium_malloc(sizeof *s);
	if (!s)
		kerr_set(e, KERR_NOMEM, "age", "cannot allocate key memory");
	return s;
}

static void header_mac(const struct secrets *s, const uint8_t *text,
		       size_t len, uint8_t mac[32])
{
	uint8_t key[32];
	crypto_auth_hmacsha256_state st;

	hkdf_sha256_32(key, s->file_key, AGE_FILE_KEY_SIZE, NULL, 0, "header");
	crypto_auth_hmacsha256_init(&st, key, sizeof key);
	crypto_auth_hmacsha256_update(&st, text, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(key, sizeof key);
	sodium_memzero(&st, sizeof st);
}

static const uint8_t zero_nonce[12];

/* ------------------------------------------------------------------ */
/* encryption                                                          */

struct age_enc {
	struct ksink sink;       /* plaintext in */
	struct ksink *out;       /* ciphertext out (maybe the armor) */
	struct armor_enc armor;
	bool armored;
	struct secrets *sec;
	uint64_t counter;
	uint8_t *pbuf;           /* pending plaintext, up to one batch */
	size_t plen;
	uint8_t *cbuf;           /* one sealed batch, if the sink lends none */
	bool finished;
	bool alone;              /* no helper thread: see age_enc_alone */
};

static void stream_nonce(uint8_t n[12], uint64_t counter, bool last)
{
	memset(n, 0, 12);
	for (int i = 0; i < 8; i++)
		n[10 - i] = (uint8_t)(counter >> (8 * i));
	n[11] = last ? 1 : 0;
}

/*
 * Chunks are independent once their counter is known, so a batch is
 * split between the calling thread and one helper thread: the two cores
 * of a small server then both do ChaCha20-Poly1305.  Small batches stay
 * on one thread.
 */
struct range_job {
	void (*fn)(struct range_job *j, size_t i); /* process chunk i */
	const uint8_t *key;
	const uint8_t *src;      /* batch input */
	uint8_t *dst;            /* batch output */
	size_t len;              /* input bytes in the batch (seal) */
	size_t nchunks;          /* chunks in the batch */
	atomic_size_t next;      /* next chunk to take */
	uint64_t first;          /* counter of chunk 0 */
	bool final_last;         /* seal: the batch's last chunk is final */
	size_t *plens;           /* open: plaintext length per chunk */
	bool *ok;                /* open: chunk authenticated */
};

/* Take chunks until none is left.  Taking one at a time (not half each)
 * keeps both cores busy even when one is also serving I/O threads. */
static void *range_work(void *arg)
{
	struct range_job *j = arg;

	for (;;) {
		size_t i = atomic_fetch_add(&j->next, 1);
		if (i >= j->nchunks)
			break;
		j->fn(j, i);
	}
	return NULL;
}

static void run_split(struct range_job *job, bool alone)
{
	pthread_t t;
	bool helper;

	atomic_init(&job->next, 0);
	helper = !alone && job->nchunks >= AGE_PARALLEL_MIN &&
		 pthread_create(&t, NULL, range_work, job) == 0;
	range_work(job);
	if (helper)
		pthread_join(t, NULL);
}

static void seal_one(struct range_job *j, size_t i)
{
	uint8_t nonce[12];
	size_t off = i * AGE_CHUNK_SIZE;
	size_t n = j->len - off < AGE_CHUNK_SIZE ? j->len - off : AGE_CHUNK_SIZE;

	stream_nonce(nonce, j->first + i, j->final_last && i == j->nchunks - 1);
	crypto_aead_chacha20poly1305_ietf_encrypt(
		j->dst + i * AGE_ENC_CHUNK_SIZE, NULL, j->src + off, n, NULL, 0,
		NULL, nonce, j->key);
}

/* Seal len bytes (a multiple of the chunk size unless final) and write. */
static int seal_batch(struct age_enc *enc, const uint8_t *p, size_t len,
		      bool final, struct kerr *e)
{
	size_t k = len ? (len + AGE_CHUNK_SIZE - 1) / AGE_CHUNK_SIZE : 1;
	size_t outlen = len + k * AGE_TAG_SIZE;
	struct range_job job = {
		.fn = seal_one, .key = enc->sec->payload_key, .src = p,
		.len = len, .nchunks = k, .first = enc->counter,
		.final_last = final,
	};
	uint8_t *dst = NULL;
	int rc;

	/* Seal straight into the sink's buffer when it lends one. */
	if (enc->out->reserve &&
	    (rc = enc->out->reserve(enc->out, outlen, &dst, e)))
		return rc;
	if (!dst && !enc->cbuf &&
	    !(enc->cbuf = malloc(AGE_BATCH * AGE_ENC_CHUNK_SIZE)))
		return kerr_set(e, KERR_NOMEM, "age", "out of memory");
	job.dst = dst ? dst : enc->cbuf;
	run_split(&job, enc->alone);
	enc->counter += k;
	return dst ? enc->out->commit(enc->out, outlen, e)
		   : enc->out->write(enc->out, enc->cbuf, outlen, e);
}

int age_enc_write(struct age_enc *enc, const void *data, size_t n,
		  struct kerr *e)
{
	const uint8_t *p = data;
	int rc;

	if (enc->finished)
		return kerr_set(e, KERR_USAGE, "age", "write after finish");
	while (n > 0) {
		/* A chunk is sealed as non-final only once more data proves
		 * it is not the file's last. */
		if (enc->plen == AGE_BATCH_BYTES) {
			rc = seal_batch(enc, enc->pbuf, enc->plen, false, e);
			if (rc)
				return rc;
			enc->plen = 0;
		}
		if (enc->plen && enc->plen < AGE_BATCH_BYTES &&
		    n > AGE_CHUNK_SIZE) {
			/* A large write behind a partial chunk: top that
			 * chunk up and seal what is pending, so that the rest
			 * is sealed in place rather than copied (blocks of
			 * any size, as export writes them, would otherwise
			 * all pass through pbuf). */
			size_t top = (AGE_CHUNK_SIZE -
				      enc->plen % AGE_CHUNK_SIZE) %
				     AGE_CHUNK_SIZE;

			memcpy(enc->pbuf + enc->plen, p, top);
			p += top;
			n -= top;
			rc = seal_batch(enc, enc->pbuf, enc->plen + top, false,
					e);
			if (rc)
				return rc;
			enc->plen = 0;
			continue;
		}
		if (enc->plen == 0 && n > AGE_CHUNK_SIZE) {
			/* Straight from the caller's buffer: every whole chunk
			 * that has at least one more byte after it. */
			size_t k = (n - 1) / AGE_CHUNK_SIZE;
			if (k > AGE_BATCH)
				k = AGE_BATCH;
			rc = seal_batch(enc, p, k * AGE_CHUNK_SIZE, false, e);
			if (rc)
				return rc;
			p += k * AGE_CHUNK_SIZE;
			n -= k * AGE_CHUNK_SIZE;
			continue;
		}
		size_t take = AGE_BATCH_BYTES - enc->plen;
		if (take > n)
			take = n;
		memcpy(enc->pbuf + enc->plen, p, take);
		enc->plen += take;
		p += take;
		n -= take;
	}
	return 0;
}

static int enc_sink_write(struct ksink *s, const uint8_t *p, size_t n,
			  struct kerr *e)
{
	return age_enc_write((struct age_enc *)s, p, n, e);
}

struct ksink *age_enc_sink(struct age_enc *enc)
{
	return &enc->sink;
}

void age_enc_alone(struct age_enc *enc)
{
	enc->alone = true;
}

static int put_stanza(struct kbuf *h, const char *args, const uint8_t *body,
		      size_t body_len, struct kerr *e)
{
	char b64[64 * 2 + 4];
	int rc = kbuf_printf(h, e, "-> %s\n", args);

	/* Wrap at 64 columns; the last line is always short (maybe empty). */
	while (!rc) {
		size_t take = body_len > 48 ? 48 : body_len;
		size_t w = b64_encode(body, take, false, b64, sizeof b64);
		rc = kbuf_append(h, b64, w, e);
		if (!rc)
			rc = kbuf_putc(h, '\n', e);
		body += take;
		body_len -= take;
		if (w < 64)
			break;
	}
	return rc;
}

static int wrap_x25519(struct secrets *s, const uint8_t pk[32], struct kbuf *h,
		       struct kerr *e)
{
	uint8_t share[32], salt[64], body[AGE_FILE_KEY_SIZE + 16];
	char args[8 + 44];
	unsigned long long blen;

	randombytes_buf(s->eph, sizeof s->eph);
	crypto_scalarmult_base(share, s->eph);
	if (crypto_scalarmult(s->shared, s->eph, pk) != 0)
		return kerr_set(e, KERR_KEY, "age recipient",
				"recipient is a low-order point");
	memcpy(salt, share, 32);
	memcpy(salt + 32, pk, 32);
	hkdf_sha256_32(s->wrap_key, s->shared, 32, salt, sizeof salt,
		       X25519_INFO);
	crypto_aead_chacha20poly1305_ietf_encrypt(body, &blen, s->file_key,
						  AGE_FILE_KEY_SIZE, NULL, 0,
						  NULL, zero_nonce, s->wrap_key);
	memcpy(args, "X25519 ", 7);
	b64_encode(share, 32, false, args + 7, sizeof args - 7);
	return put_stanza(h, args, body, (size_t)blen, e);
}

static int wrap_scrypt(struct secrets *s, const struct age_recipients *r,
		       struct kbuf *h, struct kerr *e)
{
	uint8_t salt[16], full[sizeof SCRYPT_LABEL - 1 + 16],
		body[AGE_FILE_KEY_SIZE + 16];
	unsigned log2n = r->scrypt_log2n ? r->scrypt_log2n
					 : AGE_SCRYPT_DEFAULT_LOG2N;
	char args[64];
	unsigned long long blen;
	int n;

	if (log2n < 1 || log2n > 30)
		return kerr_set(e, KERR_USAGE, "age", "scrypt work factor out of range");
	randombytes_buf(salt, sizeof salt);
	memcpy(full, SCRYPT_LABEL, sizeof SCRYPT_LABEL - 1);
	memcpy(full + sizeof SCRYPT_LABEL - 1, salt, 16);
	if (crypto_pwhash_scryptsalsa208sha256_ll(
		    (const uint8_t *)r->passphrase, r->passphrase_len, full,
		    sizeof full, (uint64_t)1 << log2n, 8, 1, s->wrap_key,
		    32) != 0)
		return kerr_set(e, KERR_NOMEM, "age",
				"scrypt failed (not enough memory?)");
	crypto_aead_chacha20poly1305_ietf_encrypt(body, &blen, s->file_key,
						  AGE_FILE_KEY_SIZE, NULL, 0,
						  NULL, zero_nonce, s->wrap_key);
	n = snprintf(args, sizeof args, "scrypt ");
	b64_encode(salt, 16, false, args + n, sizeof args - (size_t)n);
	n = (int)strlen(args);
	snprintf(args + n, sizeof args - (size_t)n, " %u", log2n);
	return put_stanza(h, args, body, (size_t)blen, e);
}

int age_enc_begin(struct age_enc **out_enc, const struct age_recipients *r,
		  bool armor, struct ksink *out, struct kerr *e)
{
	struct kbuf h = KBUF_INIT(AGE_HEADER_MAX);
	struct age_enc *enc;
	uint8_t mac[32], nonce[AGE_NONCE_SIZE];
	char macb64[48];
	int rc;

	*out_enc = NULL;
	if ((r->n_x25519 == 0) == (r->passphrase == NULL))
		return kerr_set(e, KERR_USAGE, "age",
				"need either recipients or a passphrase, not both");
	enc = calloc(1, sizeof *enc);
	if (!enc)
		return kerr_set(e, KERR_NOMEM, "age", "out of memory");
	enc->sink.write = enc_sink_write;
	enc->out = out;
	enc->pbuf = malloc(AGE_BATCH_BYTES);
	enc->sec = secrets_new(e);
	if (!enc->pbuf || !enc->sec) {
		age_enc_free(enc);
		return kerr_set(e, KERR_NOMEM, "age", "out of memory");
	}
	if (armor) {
		armor_enc_init(&enc->armor, out);
		enc->out = &enc->armor.base;
		enc->armored = true;
	}
	randombytes_buf(enc->sec->file_key, AGE_FILE_KEY_SIZE);

	rc = kbuf_puts(&h, VERSION_LINE "\n", e);
	for (size_t i = 0; !rc && i < r->n_x25519; i++)
		rc = wrap_x25519(enc->sec, r->x25519[i], &h, e);
	if (!rc && r->passphrase)
		rc = wrap_scrypt(enc->sec, r, &h, e);
	if (!rc)
		rc = kbuf_puts(&h, "---", e);
	if (!rc) {
		header_mac(enc->sec, h.p, h.len, mac);
		b64_encode(mac, 32, false, macb64, sizeof macb64);
		rc = kbuf_printf(&h, e, " %s\n", macb64);
	}
	if (!rc) {
		randombytes_buf(nonce, sizeof nonce);
		rc = kbuf_append(&h, nonce, sizeof nonce, e);
		hkdf_sha256_32(enc->sec->payload_key, enc->sec->file_key,
			       AGE_FILE_KEY_SIZE, nonce, sizeof nonce,
			       "payload");
	}
	if (!rc)
		rc = enc->out->write(enc->out, h.p, h.len, e);
	kbuf_free(&h);
	if (rc) {
		age_enc_free(enc);
		return rc;
	}
	*out_enc = enc;
	return 0;
}

int age_enc_finish(struct age_enc *enc, struct kerr *e)
{
	int rc;

	if (enc->finished)
		return 0;
	/* The final chunk may be full; it is empty only for empty input. */
	rc = seal_batch(enc, enc->pbuf, enc->plen, true, e);
	enc->plen = 0;
	enc->finished = true;
	if (!rc && enc->armored)
		rc = armor_enc_finish(&enc->armor, e);
	return rc;
}

void age_enc_free(struct age_enc *enc)
{
	if (!enc)
		return;
	if (enc->sec)
		sodium_free(enc->sec);
	if (enc->pbuf) {
		sodium_memzero(enc->pbuf, AGE_BATCH_BYTES);
		free(enc->pbuf);
	}
	free(enc->cbuf);
	free(enc);
}

/* ------------------------------------------------------------------ */
/* decryption                                                          */

struct age_dec {
	struct ksrc src;           /* plaintext out, as a source */
	struct kreader raw;        /* over the caller's source */
	struct armor_dec armor;
	struct kreader dearm;      /* over the armor decoder, if armored */
	struct kreader *in;        /* &raw or &dearm */
	bool armored;
	const char *rtype;
	struct secrets *sec;
	uint64_t counter;          /* chunks opened so far */
	bool final_seen;           /* a full final chunk was opened */
	bool done;                 /* authentic end of data reached */
	uint8_t *pbuf;             /* one batch of opened chunks */
	size_t plens[AGE_BATCH];
	bool ok[AGE_BATCH];
	size_t nready, idx;        /* chunks in pbuf; next to hand out */
	struct kerr failure;       /* reported once the ready chunks are out */
	const uint8_t *rp;         /* age_dec_read: current chunk */
	size_t plen, ppos;
};

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

static int stanza_fail(struct kerr *e, size_t idx, const char *why)
{
	kerr_set(e, KERR_HEADER, HDR, "%s", why);
	return kerr_where(e, "stanza %zu", idx + 1);
}

/* Shape checks the spec makes mandatory for the types we implement. */
static int check_x25519(const struct age_stanza *s, size_t idx,
			uint8_t share[32], struct kerr *e)
{
	if (s->nargs != 2)
		return stanza_fail(e, idx, "X25519 stanza needs exactly one argument");
	if (b64_decode_exact(s->args[1], strlen(s->args[1]), false, share,
			     32) != 0)
		return stanza_fail(e, idx,
				   "X25519 share is not canonical base64 of 32 bytes");
	if (s->body_len != AGE_FILE_KEY_SIZE + 16)
		return stanza_fail(e, idx, "X25519 stanza body is not 32 bytes");
	return 0;
}

static int check_scrypt(const struct age_stanza *s, size_t idx,
			uint8_t salt[16], unsigned *log2n, unsigned max,
			struct kerr *e)
{
	const char *w;
	unsigned v = 0;

	if (s->nargs != 3)
		return stanza_fail(e, idx, "scrypt stanza needs exactly two arguments");
	if (b64_decode_exact(s->args[1], strlen(s->args[1]), false, salt, 16) != 0)
		return stanza_fail(e, idx,
				   "scrypt salt is not canonical base64 of 16 bytes");
	w = s->args[2];
	if (w[0] < '1' || w[0] > '9' || strlen(w) > 2)
		return stanza_fail(e, idx, "scrypt work factor is not a decimal number");
	for (const char *c = w; *c; c++) {
		if (*c < '0' || *c > '9')
			return stanza_fail(e, idx,
					   "scrypt work factor is not a decimal number");
		v = v * 10 + (unsigned)(*c - '0');
	}
	if (v > max)
		return stanza_fail(e, idx,
				   "scrypt work factor too large (would take too long)");
	if (s->body_len != AGE_FILE_KEY_SIZE + 16)
		return stanza_fail(e, idx, "scrypt stanza body is not 32 bytes");
	*log2n = v;
	return 0;
}

static int unwrap(struct age_dec *d, const struct age_header *h,
		  const struct age_identities *ids, struct kerr *e)
{
	struct secrets *s = d->sec;
	unsigned max = ids->scrypt_max_log2n ? ids->scrypt_max_log2n
					     : AGE_SCRYPT_MAX_LOG2N;
	const char *pass = ids->passphrase;
	size_t pass_len = ids->passphrase_len;
	bool can_pass = pass || ids->ask_passphrase;
	bool have_scrypt = false, found = false;
	uint8_t share[32], salt[16];
	unsigned log2n;
	int rc;

	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->stanzas[i].args[0], "scrypt") == 0)
			have_scrypt = true;
	if (have_scrypt && h->n != 1)
		return kerr_set(e, KERR_HEADER, HDR,
				"an scrypt stanza must be the only stanza");

	/* Validate every stanza of a type we will try before trying any, so
	 * the outcome does not depend on stanza order. */
	for (size_t i = 0; i < h->n; i++) {
		const struct age_stanza *st = &h->stanzas[i];
		if (ids->n_x25519 && strcmp(st->args[0], "X25519") == 0 &&
		    (rc = check_x25519(st, i, share, e)))
			return rc;
		if (can_pass && strcmp(st->args[0], "scrypt") == 0 &&
		    (rc = check_scrypt(st, i, salt, &log2n, max, e)))
			return rc;
	}

	for (size_t k = 0; k < ids->n_x25519 && !found; k++) {
		const uint8_t *sk = ids->x25519 + 32 * k;
		uint8_t pk[32], salt64[64];

		crypto_scalarmult_base(pk, sk);
		for (size_t i = 0; i < h->n && !found; i++) {
			const struct age_stanza *st = &h->stanzas[i];
			if (strcmp(st->args[0], "X25519") != 0)
				continue;
			check_x25519(st, i, share, e);
			if (crypto_scalarmult(s->shared, sk, share) != 0 ||
			    all_zero(s->shared, 32))
				return stanza_fail(e, i,
						   "X25519 share is a low-order point");
			memcpy(salt64, share, 32);
			memcpy(salt64 + 32, pk, 32);
			hkdf_sha256_32(s->wrap_key, s->shared, 32, salt64, 64,
				       X25519_INFO);
			if (crypto_aead_chacha20poly1305_ietf_decrypt(
				    s->file_key, NULL, NULL, st->body,
				    st->body_len, NULL, 0, zero_nonce,
				    s->wrap_key) == 0) {
				found = true;
				d->rtype = "X25519";
			}
		}
	}
	if (!found && can_pass && have_scrypt) {
		const struct age_stanza *st = &h->stanzas[0];
		uint8_t full[sizeof SCRYPT_LABEL - 1 + 16];

		/* Ask only now that a passphrase is known to be needed. */
		if (!pass && (rc = ids->ask_passphrase(ids->ask_ctx, &pass,
						       &pass_len, e)))
			return rc;
		check_scrypt(st, 0, salt, &log2n, max, e);
		memcpy(full, SCRYPT_LABEL, sizeof SCRYPT_LABEL - 1);
		memcpy(full + sizeof SCRYPT_LABEL - 1, salt, 16);
		if (crypto_pwhash_scryptsalsa208sha256_ll(
			    (const uint8_t *)pass, pass_len, full, sizeof full,
			    (uint64_t)1 << log2n, 8, 1, s->wrap_key, 32) != 0)
			return kerr_set(e, KERR_NOMEM, HDR,
					"scrypt failed (not enough memory?)");
		if (crypto_aead_chacha20poly1305_ietf_decrypt(
			    s->file_key, NULL, NULL, st->body, st->body_len,
			    NULL, 0, zero_nonce, s->wrap_key) != 0)
			return kerr_set(e, KERR_NOMATCH, "age",
					"wrong passphrase");
		found = true;
		d->rtype = "scrypt";
	}
	if (!found) {
		if (have_scrypt)
			return kerr_set(e, KERR_NOMATCH, "age",
					"file is encrypted with a passphrase, "
					"not to an identity");
		if (!ids->n_x25519)
			return kerr_set(e, KERR_NOMATCH, "age",
					"file is not encrypted with a passphrase");
		return kerr_set(e, KERR_NOMATCH, "age",
				"no identity matches any recipient of the file");
	}
	return 0;
}

static int dec_src_read(struct ksrc *s, uint8_t *buf, size_t cap,
			size_t *got, struct kerr *e)
{
	return age_dec_read((struct age_dec *)s, buf, cap, got, e);
}

int age_dec_begin(struct age_dec **out_dec, struct ksrc *in,
		  const struct age_identities *ids, struct kerr *e)
{
	struct age_header h;
	struct age_dec *d;
	uint8_t mac[32], nonce[AGE_NONCE_SIZE];
	size_t avail, got;
	int rc;

	*out_dec = NULL;
	d = calloc(1, sizeof *d);
	if (!d)
		return kerr_set(e, KERR_NOMEM, "age", "out of memory");
	d->src.read = dec_src_read;
	d->pbuf = malloc(AGE_BATCH_BYTES);
	d->sec = secrets_new(e);
	if (!d->pbuf || !d->sec) {
		age_dec_free(d);
		return kerr_set(e, KERR_NOMEM, "age", "out of memory");
	}
	rc = kreader_init(&d->raw, in, READER_CAP, e);
	if (rc)
		goto fail;
	d->in = &d->raw;

	/* Binary files start with the version prefix; anything else that is
	 * not empty must be armored. */
	rc = kreader_fill(&d->raw, strlen(VERSION_PREFIX), &avail, e);
	if (rc)
		goto fail;
	if (avail > 0 &&
	    memcmp(kreader_peek(&d->raw), VERSION_PREFIX,
		   avail < strlen(VERSION_PREFIX) ? avail
						  : strlen(VERSION_PREFIX)) != 0) {
		armor_dec_init(&d->armor, &d->raw);
		rc = kreader_init(&d->dearm, &d->armor.base, READER_CAP, e);
		if (rc)
			goto fail;
		d->in = &d->dearm;
		d->armored = true;
	}

	rc = age_header_parse(d->in, &h, e);
	if (rc)
		goto fail;
	rc = unwrap(d, &h, ids, e);
	if (!rc) {
		header_mac(d->sec, h.mac_input, h.mac_input_len, mac);
		if (crypto_verify_32(mac, h.mac) != 0)
			rc = kerr_set(e, KERR_HMAC, HDR,
				      "header MAC does not match (header was altered)");
	}
	age_header_free(&h);
	if (rc)
		goto fail;
	rc = kreader_read(d->in, nonce, sizeof nonce, &got, e);
	if (rc)
		goto fail;
	if (got != sizeof nonce) {
		rc = kerr_set(e, KERR_HEADER, HDR,
			      "file ends before the payload nonce (truncated file?)");
		goto fail;
	}
	hkdf_sha256_32(d->sec->payload_key, d->sec->file_key, AGE_FILE_KEY_SIZE,
		       nonce, sizeof nonce, "payload");
	*out_dec = d;
	return 0;
fail:
	age_dec_free(d);
	return rc;
}

static int open_one(const uint8_t *key, const uint8_t *c, size_t clen,
		    uint64_t counter, bool last, uint8_t *out, size_t *plen)
{
	uint8_t nonce[12];
	unsigned long long n;

	stream_nonce(nonce, counter, last);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &n, NULL, c, clen,
						      NULL, 0, nonce, key) != 0)
		return -1;
	*plen = (size_t)n;
	return 0;
}

static void open_full(struct range_job *j, size_t i)
{
	j->ok[i] = open_one(j->key, j->src + i * AGE_ENC_CHUNK_SIZE,
			    AGE_ENC_CHUNK_SIZE, j->first + i, false,
			    j->dst + i * AGE_CHUNK_SIZE, &j->plens[i]) == 0;
}

static int pfail(struct age_dec *d, struct kerr *e, const char *why)
{
	kerr_set(e, KERR_PAYLOAD, PAY, "%s", why);
	return kerr_where(e, "chunk %llu", (unsigned long long)d->counter + 1);
}

/* Keep an error to report after the chunks already opened are out. */
static void defer(struct age_dec *d, const char *why)
{
	pfail(d, &d->failure, why);
}

/*
 * Open the next batch: full chunks known to be followed by more data are
 * opened together as non-final; the first that fails is retried as the
 * final chunk (the file must then end after it).  Near the end of the
 * input, one chunk at a time.
 */
static int open_batch(struct age_dec *d, struct kerr *e)
{
	const uint8_t *src;
	size_t avail, k, f, plen;
	int rc;

	d->nready = d->idx = 0;
	rc = kreader_fill(d->in, AGE_BATCH * AGE_ENC_CHUNK_SIZE + 1, &avail, e);
	if (rc)
		return rc;
	src = kreader_peek(d->in);
	if (d->final_seen) {
		/* The final chunk was released; the file must end here. */
		if (avail > 0)
			return pfail(d, e, "data after the final chunk");
		d->done = true;
		return 0;
	}
	if (avail > AGE_ENC_CHUNK_SIZE) {
		k = (avail - 1) / AGE_ENC_CHUNK_SIZE;
		if (k > AGE_BATCH)
			k = AGE_BATCH;
		struct range_job job = {
			.fn = open_full, .key = d->sec->payload_key,
			.src = src, .dst = d->pbuf, .nchunks = k,
			.first = d->counter, .plens = d->plens, .ok = d->ok,
		};
		run_split(&job, false);
		for (f = 0; f < k && d->ok[f]; f++)
			;
		kreader_consume(d->in, f * AGE_ENC_CHUNK_SIZE);
		d->counter += f;
		d->nready = f;
		if (f == k)
			return 0;
		/* A full chunk flagged final, followed by more data: released
		 * like any authentic chunk, then the trailing data is refused. */
		if (open_one(d->sec->payload_key, src + f * AGE_ENC_CHUNK_SIZE,
			     AGE_ENC_CHUNK_SIZE, d->counter, true,
			     d->pbuf + f * AGE_CHUNK_SIZE, &d->plens[f]) == 0) {
			kreader_consume(d->in, AGE_ENC_CHUNK_SIZE);
			d->counter++;
			d->nready++;
			d->final_seen = true;
			return 0;
		}
		defer(d, "chunk does not authenticate (damaged)");
		return 0;
	}
	if (avail == 0)
		return pfail(d, e, d->counter == 0
			     ? "payload is missing (truncated file?)"
			     : "file ends without its final chunk (truncated)");
	if (avail < AGE_TAG_SIZE)
		return pfail(d, e, "chunk shorter than its tag (truncated file?)");
	if (avail < AGE_ENC_CHUNK_SIZE) {
		/* A short chunk ends the input, so it must be the final one. */
		if (open_one(d->sec->payload_key, src, avail, d->counter, true,
			     d->pbuf, &plen) != 0)
			return pfail(d, e,
				     open_one(d->sec->payload_key, src, avail,
					      d->counter, false, d->pbuf,
					      &plen) == 0
				     ? "file ends without its final chunk (truncated)"
				     : "final chunk does not authenticate (damaged or truncated)");
		if (plen == 0 && d->counter > 0)
			return pfail(d, e, "empty final chunk after a full one");
	} else {
		/* The last bytes of the input are one full chunk: final, or
		 * a non-final one whose successor is missing. */
		if (open_one(d->sec->payload_key, src, avail, d->counter, true,
			     d->pbuf, &plen) != 0) {
			if (open_one(d->sec->payload_key, src, avail, d->counter,
				     false, d->pbuf, &plen) != 0)
				return pfail(d, e, "chunk does not authenticate (damaged)");
			/* Authentic but not final: release it, then report
			 * the missing final chunk. */
			kreader_consume(d->in, avail);
			d->counter++;
			d->plens[0] = plen;
			d->nready = 1;
			defer(d, "file ends without its final chunk (truncated)");
			return 0;
		}
	}
	kreader_consume(d->in, avail);
	d->counter++;
	d->plens[0] = plen;
	d->nready = 1;
	d->done = true;
	return 0;
}

int age_dec_next(struct age_dec *d, const uint8_t **p, size_t *n,
		 struct kerr *e)
{
	int rc;

	*p = d->pbuf;
	*n = 0;
	for (;;) {
		if (d->idx < d->nready) {
			/* Hand out every ready chunk at once: full chunks sit
			 * back to back in pbuf, so the run is contiguous. */
			*p = d->pbuf + d->idx * AGE_CHUNK_SIZE;
			*n = 0;
			while (d->idx < d->nready) {
				*n += d->plens[d->idx];
				if (d->plens[d->idx++] != AGE_CHUNK_SIZE)
					break;
			}
			if (*n == 0)
				continue; /* the empty final chunk of an empty file */
			return 0;
		}
		if (d->failure.code) {
			*e = d->failure;
			return e->code;
		}
		if (d->done)
			return 0;
		rc = open_batch(d, e);
		if (rc) {
			/* Sticky: every later call reports the same failure. */
			d->failure = *e;
			return rc;
		}
	}
}

int age_dec_read(struct age_dec *d, uint8_t *buf, size_t cap, size_t *got,
		 struct kerr *e)
{
	size_t done = 0;

	while (done < cap) {
		if (d->ppos == d->plen) {
			int rc = age_dec_next(d, &d->rp, &d->plen, e);
			if (rc)
				return rc;
			d->ppos = 0;
			if (d->plen == 0)
				break;
		}
		size_t take = d->plen - d->ppos;
		if (take > cap - done)
			take = cap - done;
		memcpy(buf + done, d->rp + d->ppos, take);
		d->ppos += take;
		done += take;
	}
	*got = done;
	return 0;
}

struct ksrc *age_dec_src(struct age_dec *d)
{
	return &d->src;
}

bool age_dec_armored(const struct age_dec *d)
{
	return d->armored;
}

const char *age_dec_recipient_type(const struct age_dec *d)
{
	return d->rtype;
}

void age_dec_free(struct age_dec *d)
{
	if (!d)
		return;
	if (d->sec)
		sodium_free(d->sec);
	if (d->pbuf) {
		sodium_memzero(d->pbuf, AGE_BATCH_BYTES);
		free(d->pbuf);
	}
	kreader_free(&d->raw);
	kreader_free(&d->dearm);
	free(d);
}
