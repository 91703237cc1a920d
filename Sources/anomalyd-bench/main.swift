import AnomalyModel
import Foundation

/// `anomalyd-bench`: the detector's cost per point (score + learn), in a release build.
///
///     swift run -c release anomalyd-bench [points] [section…]
///
/// Sections (default: all): `step` (or `step:1`, `step:8` for one of its channel counts),
/// `many-streams`, `threads`, `new-streams`. Under callgrind,
/// `anomalyd-bench 5000 step threads new-streams` counts what the history in
/// docs/performance.md counted (`many-streams` creates and warms 111,001 streams whatever the
/// point count).
///
/// Runs the default detector over a noisy sine, univariate and 8 channels, five times each,
/// and prints the median µs per point. Then the same univariate work on 1 and 2 threads at once
/// (each thread its own streams, as the daemon's workers), for the aggregate rate: how scoring
/// scales across cores. Last, what a new stream costs: creating its detector and scoring its
/// first sample (a flood of new stream ids is made of these). No I/O inside the timed loops.
let points = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 200_000
let repeats = 5
let chosenSections = Set(CommandLine.arguments.dropFirst(2))
func runs(_ section: String) -> Bool { chosenSections.isEmpty || chosenSections.contains(section) }

func makeValues(channels: Int) -> [Double] {
  var rng = SplitMix64(seed: 1)
  return (0..<(points * channels)).map { i -> Double in
    let t = Double(i / channels)
    return 20 + 10 * sin(t / Double(8 + i % channels)) + Double(rng.nextSymmetricUnit())
  }
}

/// Seconds to score `values` with one fresh detector.
func scoreAll(_ values: [Double], channels: Int) -> Double {
  let detector = StreamDetector(configuration: DetectorConfiguration(), channels: channels)
  let workspace = DetectorWorkspace()
  var checksum = 0.0
  let start = DispatchTime.now().uptimeNanoseconds
  values.withUnsafeBufferPointer { all in
    for p in 0..<(all.count / channels) {
      let sample = UnsafeBufferPointer(rebasing: all[(p * channels)..<((p + 1) * channels)])
      checksum += detector.process(sample, workspace).score
    }
  }
  precondition(checksum.isFinite)
  return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

/// Seconds to score `values` spread round-robin over `streams` detectors: a daemon with many
/// streams touches a different stream's state (about 9.5 KB) for almost every sample, so this
/// is the step cost once the state no longer fits the caches. The detectors use a 16-sample
/// warm-up and pass it before the clock starts, so every timed sample is scored in full.
func scoreRoundRobin(_ values: [Double], streams: Int) -> Double {
  var configuration = DetectorConfiguration()
  configuration.warmup = 16
  let workspace = DetectorWorkspace()
  let detectors = (0..<streams).map { _ in StreamDetector(configuration: configuration, channels: 1) }
  var checksum = 0.0
  let start = values.withUnsafeBufferPointer { all -> UInt64 in
    for (index, detector) in detectors.enumerated() {
      for p in 0...configuration.warmup {
        let at = (index + p) % all.count
        let sample = UnsafeBufferPointer(rebasing: all[at...at])
        checksum += detector.process(sample, workspace).score
      }
    }
    let start = DispatchTime.now().uptimeNanoseconds
    for p in 0..<all.count {
      let sample = UnsafeBufferPointer(rebasing: all[p..<(p + 1)])
      checksum += detectors[p % streams].process(sample, workspace).score
    }
    return start
  }
  precondition(checksum.isFinite)
  return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

// `step:1` and `step:8` run one of the two, for an instruction count of each under callgrind.
let stepChannels = [1, 8].filter { runs("step") || chosenSections.contains("step:\($0)") }
if !stepChannels.isEmpty {
  print("detector step (score + learn), default model, \(points) points × \(repeats) runs, median:")
  for channels in stepChannels {
    let values = makeValues(channels: channels)
    let timings = (0..<repeats).map { _ in scoreAll(values, channels: channels) * 1e6 / Double(points) }
    let runs = timings.map { String(format: "%.3f", $0) }.joined(separator: " ")
    print(
      String(
        format: "  %d channel%@: %.3f µs/point  (runs: %@)", channels, channels == 1 ? "" : "s", median(timings), runs))
  }

}

if runs("many-streams") {
  print("univariate, samples spread round-robin over many streams, median of \(repeats):")
  for streams in [1, 1_000, 10_000, 100_000] {
    let values = makeValues(channels: 1)
    let timings = (0..<repeats).map { _ in scoreRoundRobin(values, streams: streams) * 1e6 / Double(points) }
    print(String(format: "  %7d streams: %.3f µs/point", streams, median(timings)))
  }

}

if runs("threads") {
  print("aggregate rate with independent threads (univariate), median of \(repeats):")
  let values = makeValues(channels: 1)
  var single = 0.0
  for threads in [1, 2] {
    var rates: [Double] = []
    for _ in 0..<repeats {
      let group = DispatchGroup()
      let start = DispatchTime.now().uptimeNanoseconds
      for _ in 0..<threads {
        group.enter()
        Thread {
          _ = scoreAll(values, channels: 1)
          group.leave()
        }.start()
      }
      group.wait()
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
      rates.append(Double(threads * points) / seconds)
    }
    let rate = median(rates)
    if threads == 1 { single = rate }
    print(String(format: "  %d thread%@: %.0f points/s (×%.2f)", threads, threads == 1 ? "" : "s", rate, rate / single))
  }

}

if runs("new-streams") {
  print("new stream (create the detector, score its first sample), median of \(repeats):")
  let newStreams = max(1, points / 10)
  let creation = (0..<repeats).map { _ -> Double in
    let configuration = DetectorConfiguration()
    let workspace = DetectorWorkspace()
    var kept: [StreamDetector] = []
    kept.reserveCapacity(newStreams)
    var checksum = 0.0
    let start = DispatchTime.now().uptimeNanoseconds
    for i in 0..<newStreams {
      let detector = StreamDetector(configuration: configuration, channels: 1)
      checksum += [Double(i)].withUnsafeBufferPointer { detector.process($0, workspace).score }
      kept.append(detector)
    }
    precondition(checksum.isFinite)
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3 / Double(newStreams)
  }
  print(String(format: "  %.2f µs per new stream (%d streams kept alive)", median(creation), newStreams))
}
