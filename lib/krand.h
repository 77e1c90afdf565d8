/*
 * krand — random bytes for bulk use (layer 1).
 *
 * libsodium's randombytes_buf makes one getrandom(2) system call per
 * call; a receive that draws a code and four nonces per person spent more
 * time in the kernel's random generator than in sealing.  krand_buf hands
 * out bytes from a per-thread pool of 4 KiB filled by randombytes_buf, so
 * the bytes are the kernel's CSPRNG output all the same, just fetched in
 * bigger pieces.  The pool lives in locked memory that is never swapped,
 * bytes are wiped as they are handed out, and krand_wipe clears what is
 * left (call it when a bulk job ends).
 */
#ifndef KLUIS_KRAND_H
#define KLUIS_KRAND_H

#include <stddef.h>

void krand_buf(void *p, size_t n);
/* Forget the calling thread's unused pool bytes. */
void krand_wipe(void);

#endif
