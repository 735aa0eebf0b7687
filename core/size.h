/*
 * size.h — byte sizes as people write them: "25G", "500M", "1.5T", "4096".
 *
 * Units are binary (K = 1024).  Accepted suffixes: none/B, K/KB/KiB, M/MB/MiB,
 * G/GB/GiB, T/TB/TiB, P/PB/PiB, E/EB/EiB, case-insensitive, optionally
 * after one space (so size_format() output parses back).  One optional
 * fraction ("1.5T"); the result is rounded down to a whole byte.
 */
#ifndef COFFER_SIZE_H
#define COFFER_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* Returns 0 and sets *out, COF_EINVAL on syntax, COF_ERANGE on overflow. */
int size_parse(const char *s, uint64_t *out);

/*
 * Human form into buf: "0 B", "512 B", "1.5 KiB", "25.0 GiB" (one decimal
 * from KiB up).  Returns buf.  buf must hold SIZE_FMT_LEN bytes.
 */
#define SIZE_FMT_LEN 32
char *size_format(uint64_t n, char *buf);

#endif
