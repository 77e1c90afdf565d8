/*
 * replay_main — a main() for fuzz targets built without libFuzzer.
 *
 *   replay_NAME FILE|DIR...
 *
 * Feeds the bytes of every file named (directories: every regular file in
 * them, not recursive, in name order) to LLVMFuzzerTestOneInput and prints
 * one TAP test: "ok 1 - replay NAME: N inputs", or "not ok 1 - ..." if an
 * argument cannot be read or there were no inputs at all.  A crash in the
 * target (sanitizer report, abort) ends the run with a non-zero status,
 * which the test runner counts as a failure.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (64u << 20) /* refuse absurd corpus files */

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* Read a whole file; 0 on success (the caller frees *out). */
static int read_file(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	size_t n = 0, cap = 0;

	*out = NULL;
	*len = 0;
	if (!f)
		return -1;
	for (;;) {
		size_t got;

		if (cap - n < 4096) {
			size_t ncap = cap ? cap * 2 : 65536;
			uint8_t *np;

			if (ncap > REPLAY_MAX_INPUT + 4096) {
				errno = EFBIG;
				goto fail;
			}
			np = realloc(p, ncap);
			if (!np)
				goto fail;
			p = np;
			cap = ncap;
		}
		got = fread(p + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			if (ferror(f))
				goto fail;
			break;
		}
	}
	fclose(f);
	/* Give the target an exact-size heap block so ASan sees overreads. */
	if (n == 0) {
		free(p);
		p = NULL;
	} else {
		uint8_t *exact = malloc(n);
		if (!exact) {
			free(p);
			return -1;
		}
		memcpy(exact, p, n);
		free(p);
		p = exact;
	}
	*out = p;
	*len = n;
	return 0;
fail:
	free(p);
	fclose(f);
	return -1;
}

static int run_file(const char *path, unsigned long *count)
{
	uint8_t *data;
	size_t len;

	if (read_file(path, &data, &len) != 0) {
		fprintf(stderr, "# cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	(*count)++;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	char *const *x = a;
	char *const *y = b;

	return strcmp(*x, *y);
}

static int run_dir(const char *dir, unsigned long *count)
{
	DIR *d = opendir(dir);
	struct dirent *ent;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (!d) {
		fprintf(stderr, "# cannot open %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((ent = readdir(d)) != NULL) {
		if (ent->d_name[0] == '.')
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			char **nn = realloc(names, ncap * sizeof *nn);
			if (!nn) {
				rc = -1;
				break;
			}
			names = nn;
			cap = ncap;
		}
		names[n] = strdup(ent->d_name);
		if (!names[n]) {
			rc = -1;
			break;
		}
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof *names, cmp_names);
	for (size_t i = 0; i < n; i++) {
		size_t plen = strlen(dir) + 1 + strlen(names[i]) + 1;
		char *path = malloc(plen);
		struct stat st;

		if (!path) {
			rc = -1;
			break;
		}
		snprintf(path, plen, "%s/%s", dir, names[i]);
		if (stat(path, &st) != 0) {
			fprintf(stderr, "# cannot stat %s: %s\n", path,
				strerror(errno));
			rc = -1;
		} else if (S_ISREG(st.st_mode)) {
			if (run_file(path, count) != 0)
				rc = -1;
		}
		free(path);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	const char *name = base_name(argc > 0 ? argv[0] : "replay");
	unsigned long count = 0;
	int bad = 0;

	if (argc < 2) {
		fprintf(stderr, "# usage: replay_NAME FILE|DIR...\n");
		bad = 1;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "# cannot stat %s: %s\n", argv[i],
				strerror(errno));
			bad = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (run_dir(argv[i], &count) != 0)
				bad = 1;
		} else if (run_file(argv[i], &count) != 0) {
			bad = 1;
		}
	}
	if (bad || count == 0)
		printf("not ok 1 - replay %s: %lu inputs%s\n", name, count,
		       bad ? " (unreadable argument)" : " (no inputs)");
	else
		printf("ok 1 - replay %s: %lu inputs\n", name, count);
	printf("1..1\n");
	return (bad || count == 0) ? 1 : 0;
}
