import AnomalyModel
import Foundation

/// `anomalyd-bench`: the detector's cost per point (score + learn), in a release build.
///
///     swift run -c release anomalyd-bench [points]
///
/// Runs the default detector over a noisy sine, univariate and 8 channels, five times each,
/// and prints the median µs per point. No I/O inside the timed loop.
let points = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 200_000
let repeats = 5

func measure(channels: Int) -> (median: Double, all: [Double]) {
  var rng = SplitMix64(seed: 1)
  let values = (0..<(points * channels)).map { i -> Double in
    let t = Double(i / channels)
    return 20 + 10 * sin(t / Double(8 + i % channels)) + Double(rng.nextSymmetricUnit())
  }
  var timings: [Double] = []
  for _ in 0..<repeats {
    let detector = StreamDetector(configuration: DetectorConfiguration(), channels: channels)
    let workspace = DetectorWorkspace()
    var checksum = 0.0
    let start = DispatchTime.now().uptimeNanoseconds
    values.withUnsafeBufferPointer { all in
      for p in 0..<points {
        let sample = UnsafeBufferPointer(rebasing: all[(p * channels)..<((p + 1) * channels)])
        checksum += detector.process(sample, workspace).score
      }
    }
    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3
    timings.append(elapsed / Double(points))
    precondition(checksum.isFinite)
  }
  let sorted = timings.sorted()
  return (sorted[sorted.count / 2], timings)
}

print("detector step (score + learn), default model, \(points) points × \(repeats) runs, median:")
for channels in [1, 8] {
  let (median, all) = measure(channels: channels)
  let runs = all.map { String(format: "%.3f", $0) }.joined(separator: " ")
  print(String(format: "  %d channel%@: %.3f µs/point  (runs: %@)", channels, channels == 1 ? "" : "s", median, runs))
}
