/*
 * banned.h — libc calls that invite overflows or races.  Included last in
 * every .c file of lib/ and src/, it turns their use into a compile error.
 * Use snprintf, memcpy with checked lengths, or kbuf instead.
 */
#ifndef KLUIS_BANNED_H
#define KLUIS_BANNED_H

#define KLUIS_BANNED(f) sorry_##f##_is_banned_in_kluis

#undef strcpy
#define strcpy(...) KLUIS_BANNED(strcpy)
#undef strcat
#define strcat(...) KLUIS_BANNED(strcat)
#undef strncpy
#define strncpy(...) KLUIS_BANNED(strncpy)
#undef strncat
#define strncat(...) KLUIS_BANNED(strncat)
#undef sprintf
#define sprintf(...) KLUIS_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) KLUIS_BANNED(vsprintf)
#undef gets
#define gets(...) KLUIS_BANNED(gets)
#undef strtok
#define strtok(...) KLUIS_BANNED(strtok)
#undef tmpnam
#define tmpnam(...) KLUIS_BANNED(tmpnam)
#undef mktemp
#define mktemp(...) KLUIS_BANNED(mktemp)
#undef atoi
#define atoi(...) KLUIS_BANNED(atoi)

#endif
