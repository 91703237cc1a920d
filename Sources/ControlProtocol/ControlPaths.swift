#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Where the control socket lives when the configuration does not say.
///
/// Under systemd (`RuntimeDirectory=anomalyd`) it is `$RUNTIME_DIRECTORY/control.sock`, i.e.
/// `/run/anomalyd/control.sock`. Otherwise `$XDG_RUNTIME_DIR/anomalyd/control.sock`, and as a
/// last resort `/tmp/anomalyd-<uid>/control.sock`. `anomalyctl` applies the same rule, so with
/// no flags both sides meet; as root with no other hint it also tries `/run/anomalyd`.
public enum ControlPaths {
  public static func defaultSocket(environment: [String: String]) -> String {
    if let runtime = environment["RUNTIME_DIRECTORY"], !runtime.isEmpty {
      // systemd may list several directories separated by ':'; the first is ours.
      let first = runtime.split(separator: ":").first.map(String.init) ?? runtime
      return first + "/control.sock"
    }
    if let xdg = environment["XDG_RUNTIME_DIR"], !xdg.isEmpty {
      return xdg + "/anomalyd/control.sock"
    }
    if getuid() == 0 { return "/run/anomalyd/control.sock" }
    return "/tmp/anomalyd-\(getuid())/control.sock"
  }

  /// The current process environment as a dictionary.
  public static var processEnvironment: [String: String] {
    var result: [String: String] = [:]
    var pointer = environ
    while let entry = pointer.pointee {
      let text = String(cString: entry)
      if let equals = text.firstIndex(of: "=") {
        result[String(text[..<equals])] = String(text[text.index(after: equals)...])
      }
      pointer += 1
    }
    return result
  }
}
