/*
 * harness.h — the in-tree unit test harness.
 *
 * Each CHECK prints "ok - ..." or "not ok - ..." (TAP-like); tests/run.sh
 * counts those lines.  main() ends with `return harness_done();`.
 */
#ifndef COFFER_HARNESS_H
#define COFFER_HARNESS_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int harness_passed, harness_failed;

#define CHECK_MSG(cond, ...)                                            \
	do {                                                            \
		if (cond) {                                             \
			harness_passed++;                               \
			printf("ok - ");                                \
		} else {                                                \
			harness_failed++;                               \
			printf("not ok - %s:%d: ", __FILE__, __LINE__); \
		}                                                       \
		printf(__VA_ARGS__);                                    \
		printf("\n");                                           \
	} while (0)

#define CHECK(cond) CHECK_MSG(cond, "%s", #cond)

#define CHECK_INT(a, b)                                                   \
	do {                                                              \
		long long ha_ = (long long)(a), hb_ = (long long)(b);     \
		CHECK_MSG(ha_ == hb_, "%s == %s (%lld vs %lld)", #a, #b,  \
		    ha_, hb_);                                            \
	} while (0)

#define CHECK_U64(a, b)                                                  \
	do {                                                             \
		uint64_t ha_ = (uint64_t)(a), hb_ = (uint64_t)(b);       \
		CHECK_MSG(ha_ == hb_, "%s == %s (%" PRIu64 " vs %" PRIu64 \
		    ")", #a, #b, ha_, hb_);                              \
	} while (0)

#define CHECK_STR(a, b)                                                  \
	do {                                                             \
		const char *ha_ = (a), *hb_ = (b);                       \
		CHECK_MSG(ha_ != NULL && hb_ != NULL &&                  \
		    strcmp(ha_, hb_) == 0, "%s == \"%s\" (got \"%s\")",  \
		    #a, hb_ ? hb_ : "(null)", ha_ ? ha_ : "(null)");     \
	} while (0)

static inline int
harness_done(void)
{
	printf("# %d passed, %d failed\n", harness_passed, harness_failed);
	return harness_failed ? 1 : 0;
}

#endif
