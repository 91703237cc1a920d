import Foundation

/// The inputs a fuzz target kept (`Tests/Fuzz/<target>.hex`: one input per line, hex, written
/// by tools/fuzz/run.sh), for the unit tests that replay them on every run.
public func fuzzCorpus(_ target: String, file: String = #filePath) throws -> [[UInt8]] {
  let url = URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent("../Fuzz/\(target).hex")
  return try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { line in
    stride(from: 0, to: line.utf8.count, by: 2).map { offset in
      let start = line.index(line.startIndex, offsetBy: offset)
      return UInt8(line[start..<line.index(start, offsetBy: 2)], radix: 16) ?? 0
    }
  }
}
