/* kpump: read-ahead delivers exactly the file's bytes, in order, for sizes
 * around the block size, from regular files (helper thread) and pipes
 * (synchronous). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kluis.h"
#include "unit.h"

#define BLOCK 4096

/* Read everything through a pump; 0 if it equals want[0..n). */
static int pump_equals(int fd, const uint8_t *want, size_t n)
{
	struct kpump *p;
	struct kerr e;
	size_t total = 0, calls = 0;
	int rc = -1;

	if (kpump_start(&p, fd, BLOCK, "test", &e) != 0)
		return -1;
	for (;;) {
		const uint8_t *d;
		size_t got;

		if (kpump_next(p, &d, &got, &e) != 0)
			goto out;
		if (got == 0)
			break;
		if (got > BLOCK || total + got > n ||
		    memcmp(d, want + total, got) != 0)
			goto out;
		total += got;
		calls++;
	}
	/* Regular files come in full blocks but the last. */
	rc = total == n && calls == (n + BLOCK - 1) / BLOCK ? 0 : -2;
	/* After the end, the end stays. */
	{
		const uint8_t *d;
		size_t got = 1;
		if (kpump_next(p, &d, &got, &e) != 0 || got != 0)
			rc = -3;
	}
out:
	kpump_free(p);
	return rc;
}

static void regular_files(void)
{
	static const size_t sizes[] = { 0, 1, BLOCK - 1, BLOCK, BLOCK + 1,
					2 * BLOCK, 7 * BLOCK + 5 };
	char path[] = "/tmp/kluis-kpump-XXXXXX";
	uint8_t *data = malloc(8 * BLOCK);
	int fd = mkstemp(path);

	CHECK(fd >= 0 && data);
	for (size_t i = 0; i < 8 * BLOCK; i++)
		data[i] = (uint8_t)(i * 31 + i / 251);
	for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
		CHECK(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);
		CHECK(write(fd, data, sizes[s]) == (ssize_t)sizes[s]);
		CHECK(lseek(fd, 0, SEEK_SET) == 0);
		CHECK(pump_equals(fd, data, sizes[s]) == 0);
	}
	close(fd);
	unlink(path);
	free(data);
}

static void pipes_are_read_synchronously(void)
{
	uint8_t data[3 * BLOCK + 17];
	struct kpump *p;
	struct kerr e;
	size_t total = 0;
	int fds[2];
	pid_t pid;

	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i ^ 0x5a);
	CHECK(pipe(fds) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		/* Dribble: blocks are still filled completely. */
		for (size_t i = 0; i < sizeof data; i += 1000) {
			size_t n = sizeof data - i < 1000 ? sizeof data - i : 1000;
			if (write(fds[1], data + i, n) != (ssize_t)n)
				_exit(1);
			usleep(1000);
		}
		_exit(0);
	}
	close(fds[1]);
	CHECK(kpump_start(&p, fds[0], BLOCK, "pipe", &e) == 0);
	for (;;) {
		const uint8_t *d;
		size_t got;

		CHECK(kpump_next(p, &d, &got, &e) == 0);
		if (got == 0)
			break;
		CHECK(got == BLOCK || total + got == sizeof data);
		CHECK(memcmp(d, data + total, got) == 0);
		total += got;
	}
	CHECK(total == sizeof data);
	kpump_free(p);
	close(fds[0]);
	CHECK(waitpid(pid, NULL, 0) == pid);
}

static void read_error_is_reported(void)
{
	struct kpump *p;
	struct kerr e;
	const uint8_t *d;
	size_t got;
	int fd = open("/tmp", O_RDONLY | O_DIRECTORY);

	CHECK(fd >= 0);
	CHECK(kpump_start(&p, fd, BLOCK, "a directory", &e) == 0);
	CHECK(kpump_next(p, &d, &got, &e) == KERR_IO);
	CHECK(strcmp(e.what, "a directory") == 0);
	kpump_free(p);
	close(fd);
}

const struct unit_case suite_kpump[] = {
	{ "kpump: regular files around the block size", regular_files },
	{ "kpump: pipes, dribbled input", pipes_are_read_synchronously },
	{ "kpump: read error reported", read_error_is_reported },
	{ NULL, NULL },
};
