#ifndef ANOMALYD_FUZZ_DRIVER_H
#define ANOMALYD_FUZZ_DRIVER_H
#include <stddef.h>
#include <stdint.h>
// libFuzzer's entry for programs that have their own main (from -sanitize=fuzzer).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
#endif
