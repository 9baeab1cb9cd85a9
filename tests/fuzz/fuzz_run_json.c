/* fuzz_run_json.c -- libFuzzer target for run-document validation: decodes
 * arbitrary bytes with run_from_json and, when they are accepted, checks that
 * the canonical re-encoding decodes again and re-encodes to the same text.
 * Built and run by `make fuzz` (tests/fuzz/README.md). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reports a broken round trip and aborts, which libFuzzer records as a
 * crash: the refused text around err, or where two encodings first differ. */
static void fail(const char *what, const char *err, const char *a, const char *b)
{
    fprintf(stderr, "fuzz_run_json: %s%s%s\n", what, err ? ": " : "", err ? err : "");
    size_t at = 0;
    if (b)
        while (a[at] && a[at] == b[at]) at++;
    size_t from = at > 80 ? at - 80 : 0;
    if (a) fprintf(stderr, "first  (from byte %zu): %.160s\n", from, a + from);
    if (b) fprintf(stderr, "second (from byte %zu): %.160s\n", from, b + from);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The collector hands run_from_json a NUL-terminated body (util.h's buf);
     * a copy gives ASan exact bounds to check. */
    char *json = xmalloc(size + 1);
    memcpy(json, data, size);
    json[size] = '\0';

    rb_run run, again;
    char err[RB_ERR_LEN];
    if (run_from_json(json, size, &run, err) < 0) {
        if (run.n_results || run.results || run.config || run.commands)
            fail("a refused document left data in the run", err, NULL, NULL);
        free(json);
        return 0;
    }
    char *first = run_to_json(&run, 0);
    if (run_from_json(first, strlen(first), &again, err) < 0)
        fail("the canonical encoding of an accepted run is refused", err, first, NULL);
    char *second = run_to_json(&again, 0);
    if (strcmp(first, second) != 0) fail("re-encoding is not stable", NULL, first, second);

    /* The pretty form must mean the same document. */
    char *pretty = run_to_json(&again, 1);
    run_cleanup(&again);
    if (run_from_json(pretty, strlen(pretty), &again, err) < 0)
        fail("the pretty encoding of an accepted run is refused", err, pretty, NULL);
    char *third = run_to_json(&again, 0);
    if (strcmp(first, third) != 0) fail("the pretty encoding decodes differently", NULL, first, third);

    free(third);
    free(pretty);
    free(second);
    free(first);
    run_cleanup(&again);
    run_cleanup(&run);
    free(json);
    return 0;
}
