/* testhelp.h -- a tiny unit-test harness: one line per test ("ok - name" or
 * "not ok - name"), failures explained on stderr, exit status 1 if any failed.
 * tests/run.sh counts the lines across all test programs. */
#ifndef RB_TESTHELP_H
#define RB_TESTHELP_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int th_cur_fail, th_pass, th_fail;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__,   \
                    #cond);                                                      \
            th_cur_fail++;                                                       \
        }                                                                        \
    } while (0)

/* Checks |a - b| <= tol, printing both values when it fails. */
#define CHECK_NEAR(a, b, tol)                                                    \
    do {                                                                         \
        double th_a = (a), th_b = (b);                                           \
        if (!(fabs(th_a - th_b) <= (tol))) {                                     \
            fprintf(stderr, "  %s:%d: %s = %.9g, expected %.9g (tol %g)\n",      \
                    __FILE__, __LINE__, #a, th_a, th_b, (double)(tol));          \
            th_cur_fail++;                                                       \
        }                                                                        \
    } while (0)

#define CHECK_STREQ(a, b)                                                        \
    do {                                                                         \
        const char *th_a = (a), *th_b = (b);                                     \
        if (!th_a || !th_b || strcmp(th_a, th_b) != 0) {                         \
            fprintf(stderr, "  %s:%d: %s = \"%s\", expected \"%s\"\n", __FILE__, \
                    __LINE__, #a, th_a ? th_a : "(null)", th_b ? th_b : "(null)");\
            th_cur_fail++;                                                       \
        }                                                                        \
    } while (0)

#define RUN(fn)                                                                  \
    do {                                                                         \
        th_cur_fail = 0;                                                         \
        fn();                                                                    \
        if (th_cur_fail) {                                                       \
            th_fail++;                                                           \
            printf("not ok - %s\n", #fn);                                        \
        } else {                                                                 \
            th_pass++;                                                           \
            printf("ok - %s\n", #fn);                                            \
        }                                                                        \
        fflush(stdout);                                                          \
    } while (0)

/* Returns the process exit status. */
#define TH_DONE() (th_fail ? 1 : 0)

#endif
