#if canImport(Glibc)
  import Glibc
#endif

/// Reads newline-terminated lines from a file descriptor in large chunks, so that huge CSV
/// files and endless pipes are streamed, never loaded whole.
final class LineReader {
  private let fd: Int32
  private var buffer: [UInt8] = []
  private var start = 0
  private var eof = false
  /// 1-based number of the line last returned.
  private(set) var lineNumber = 0

  init(fileDescriptor: Int32) {
    fd = fileDescriptor
  }

  /// The next line without its line terminator, or nil at the end of input.
  func next() -> [UInt8]? {
    while true {
      if let newline = buffer[start...].firstIndex(of: 0x0A) {
        var end = newline
        if end > start, buffer[end - 1] == 0x0D { end -= 1 }
        let line = Array(buffer[start..<end])
        start = newline + 1
        lineNumber += 1
        return line
      }
      if eof {
        guard start < buffer.count else { return nil }
        let line = Array(buffer[start...])
        start = buffer.count
        lineNumber += 1
        return line
      }
      if start > 0 {
        buffer.removeFirst(start)
        start = 0
      }
      var chunk = [UInt8](repeating: 0, count: 1 << 16)
      let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      if n <= 0 {
        eof = true
      } else {
        buffer.append(contentsOf: chunk[0..<n])
      }
    }
  }
}

/// Buffered writes to a file descriptor.
final class OutputBuffer {
  private let fd: Int32
  private var buffer: [UInt8] = []

  init(fileDescriptor: Int32) {
    fd = fileDescriptor
    buffer.reserveCapacity(1 << 16)
  }

  func write(_ text: String) {
    buffer.append(contentsOf: text.utf8)
    if buffer.count >= 1 << 16 { flush() }
  }

  func write(bytes: [UInt8]) {
    buffer.append(contentsOf: bytes)
    if buffer.count >= 1 << 16 { flush() }
  }

  /// Writes out what is buffered; false if the write failed (disk full, closed pipe).
  @discardableResult
  func flush() -> Bool {
    var offset = 0
    while offset < buffer.count {
      let n = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
      if n < 0 {
        if errno == EINTR { continue }
        buffer.removeAll(keepingCapacity: true)
        return false
      }
      offset += n
    }
    buffer.removeAll(keepingCapacity: true)
    return true
  }
}
