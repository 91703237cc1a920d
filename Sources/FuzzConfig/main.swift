import CFuzzDriver
import DaemonConfig
import Foundation

// Fuzz target for the configuration loader (TOML through TOMLKit, then validation): any bytes
// must give a configuration or a ConfigError, never a crash. Only built when ANOMALYD_FUZZ=1
// (tools/fuzz/run.sh config).
let fuzzOne: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32 = { data, size in
  guard let data else { return 0 }
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  do {
    _ = try ConfigLoader.load(fileContents: text, fileName: "fuzz.toml")
  } catch let error as ConfigError {
    _ = error.description
  } catch {
    fatalError("unexpected error type: \(error)")
  }
  return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOne))
