// Intentionally empty: the header declares libFuzzer's LLVMFuzzerRunDriver for Swift.
