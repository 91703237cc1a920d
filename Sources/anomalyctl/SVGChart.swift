import Foundation

/// Renders a `PlotSeries` as a self-contained SVG: one panel per channel (the readings, the
/// expected values and the threshold band around them, episodes shaded, events marked), and a
/// panel of the score with the alarm level at ½.
struct SVGChart {
  static let width = 1000.0
  static let channelHeight = 200.0
  static let scoreHeight = 110.0
  static let margin = (left: 70.0, right: 20.0, top: 52.0, gap: 28.0, bottom: 40.0)
  /// Lines keep at most about this many points: an SVG of 100,000 points renders slowly and
  /// shows no more than the screen can.
  static let maxPoints = 2000

  let series: PlotSeries

  func render() -> String {
    let panels = series.channels
    let height =
      Self.margin.top + Double(panels) * (Self.channelHeight + Self.margin.gap) + Self.scoreHeight + Self.margin.bottom
    var svg = """
      <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(Self.width))" height="\(Int(height))" \
      viewBox="0 0 \(Int(Self.width)) \(Int(height))" font-family="sans-serif" font-size="11">
      <rect width="100%" height="100%" fill="white"/>
      <text x="\(Self.margin.left)" y="22" font-size="15" font-weight="bold">\(escape(series.title))</text>
      <text x="\(Self.width - Self.margin.right)" y="22" text-anchor="end" fill="#555">\(escape(legend))</text>

      """
    guard series.count > 0 else {
      return svg + "<text x=\"\(Self.margin.left)\" y=\"60\">no readings kept yet</text>\n</svg>\n"
    }
    let xs = XScale(series: series, left: Self.margin.left, right: Self.width - Self.margin.right)
    var top = Self.margin.top
    for c in 0..<panels {
      svg += channelPanel(c, top: top, xs: xs)
      top += Self.channelHeight + Self.margin.gap
    }
    svg += scorePanel(top: top, xs: xs)
    svg += xAxis(y: top + Self.scoreHeight, xs: xs)
    return svg + "</svg>\n"
  }

  private var legend: String {
    "— reading   - - expected   ░ threshold band   ▮ episode   ● event"
  }

  private func channelPanel(_ c: Int, top: Double, xs: XScale) -> String {
    let values = series.values[c]
    let expected = series.expected[c]
    let band = series.band[c]
    var low = Double.infinity
    var high = -Double.infinity
    // The axis fits the readings, and the expected values once the model has warmed up (an
    // untrained model's first guesses would squash the picture).
    for i in 0..<series.count {
      for v in series.warmingUp[i] ? [values[i]] : [values[i], expected[i]] where v.isFinite {
        low = min(low, v)
        high = max(high, v)
      }
    }
    // The band is drawn but does not stretch the axis beyond twice the readings' range.
    let span = max(high - low, 1e-9)
    let ys = YScale(low: low - 0.08 * span, high: high + 0.08 * span, top: top, height: Self.channelHeight)
    var out = frame(top: top, height: Self.channelHeight, label: series.channelNames[c], ys: ys)
    out += episodeShading(top: top, height: Self.channelHeight, xs: xs)
    let upper = (0..<series.count).map { i in band[i].isFinite ? expected[i] + band[i] : Double.nan }
    let lower = (0..<series.count).map { i in band[i].isFinite ? expected[i] - band[i] : Double.nan }
    out += bandPolygon(upper: upper, lower: lower, xs: xs, ys: ys)
    let shown = (0..<series.count).map { i in series.warmingUp[i] ? Double.nan : ys.clampedValue(expected[i]) }
    out += polyline(shown, xs: xs, ys: ys, style: "stroke=\"#1f77b4\" stroke-width=\"1.2\" stroke-dasharray=\"5,3\"")
    out += polyline(values, xs: xs, ys: ys, style: "stroke=\"#222\" stroke-width=\"1.2\"")
    for i in 0..<series.count where series.anomaly[i] && values[i].isFinite {
      out += "<circle cx=\(f(xs(i))) cy=\(f(ys(values[i]))) r=\"4.5\" fill=\"#d62728\" stroke=\"white\"/>\n"
    }
    return out + "</g>\n"
  }

  private func scorePanel(top: Double, xs: XScale) -> String {
    let ys = YScale(low: 0, high: 1, top: top, height: Self.scoreHeight, ticks: [0, 0.5, 1])
    var out = frame(top: top, height: Self.scoreHeight, label: "score", ys: ys)
    out += episodeShading(top: top, height: Self.scoreHeight, xs: xs)
    out +=
      "<line x1=\(f(xs.left)) x2=\(f(xs.right)) y1=\(f(ys(0.5))) y2=\(f(ys(0.5))) stroke=\"#d62728\" stroke-dasharray=\"4,3\"/>\n"
    out += polyline(series.score, xs: xs, ys: ys, style: "stroke=\"#9467bd\" stroke-width=\"1.2\"")
    if let warm = series.warmingUp.lastIndex(of: true) {
      out += "<rect x=\(f(xs.left)) y=\(f(top)) width=\(f(max(0, xs(warm) - xs.left))) height=\(f(Self.scoreHeight)) "
      out += "fill=\"#999\" fill-opacity=\"0.15\"/>\n"
      out += "<text x=\(f(xs.left + 4)) y=\(f(top + 12)) fill=\"#666\">warm-up</text>\n"
    }
    return out + "</g>\n"
  }

  /// A panel's box, its y ticks and its label; opens a group the caller closes.
  private func frame(top: Double, height: Double, label: String, ys: YScale) -> String {
    let (left, right) = (Self.margin.left, Self.width - Self.margin.right)
    var out =
      "<g>\n<rect x=\(f(left)) y=\(f(top)) width=\(f(right - left)) height=\(f(height)) fill=\"none\" stroke=\"#bbb\"/>\n"
    for tick in ys.ticks {
      let y = ys(tick)
      out += "<line x1=\(f(left - 4)) x2=\(f(right)) y1=\(f(y)) y2=\(f(y)) stroke=\"#eee\"/>\n"
      out += "<text x=\(f(left - 6)) y=\(f(y + 3.5)) text-anchor=\"end\" fill=\"#444\">\(tickLabel(tick))</text>\n"
    }
    out += "<text x=\(f(left + 4)) y=\(f(top - 5)) fill=\"#333\" font-weight=\"bold\">\(escape(label))</text>\n"
    return out
  }

  private func episodeShading(top: Double, height: Double, xs: XScale) -> String {
    series.episodes.map { range in
      let x0 = xs(range.lowerBound)
      let x1 = max(xs(range.upperBound), x0 + 2)
      return
        "<rect x=\(f(x0)) y=\(f(top)) width=\(f(x1 - x0)) height=\(f(height)) fill=\"#d62728\" fill-opacity=\"0.12\"/>\n"
    }.joined()
  }

  private func polyline(_ v: [Double], xs: XScale, ys: YScale, style: String) -> String {
    // Runs of finite values; NaN breaks the line.
    var out = ""
    var points: [String] = []
    func flush() {
      if points.count > 1 { out += "<polyline fill=\"none\" \(style) points=\"\(points.joined(separator: " "))\"/>\n" }
      points = []
    }
    for i in xs.sampled {
      guard v[i].isFinite else {
        flush()
        continue
      }
      points.append("\(fmt(xs(i))),\(fmt(ys(v[i])))")
    }
    flush()
    return out
  }

  private func bandPolygon(upper: [Double], lower: [Double], xs: XScale, ys: YScale) -> String {
    let indices = xs.sampled.filter { upper[$0].isFinite && lower[$0].isFinite }
    guard indices.count > 1 else { return "" }
    let top = indices.map { "\(fmt(xs($0))),\(fmt(ys.clamped(upper[$0])))" }
    let bottom = indices.reversed().map { "\(fmt(xs($0))),\(fmt(ys.clamped(lower[$0])))" }
    return
      "<polygon fill=\"#1f77b4\" fill-opacity=\"0.13\" stroke=\"none\" points=\"\((top + bottom).joined(separator: " "))\"/>\n"
  }

  private func xAxis(y: Double, xs: XScale) -> String {
    var out = ""
    let ticks = xs.ticks()
    for (k, (i, label)) in ticks.enumerated() {
      let x = xs(i)
      // The outer labels keep inside the picture.
      let anchor = k == 0 ? "start" : (k == ticks.count - 1 ? "end" : "middle")
      out += "<line x1=\(f(x)) x2=\(f(x)) y1=\(f(y)) y2=\(f(y + 4)) stroke=\"#444\"/>\n"
      out += "<text x=\(f(x)) y=\(f(y + 16)) text-anchor=\"\(anchor)\" fill=\"#444\">\(escape(label))</text>\n"
    }
    let caption = series.xIsTime ? "time (UTC)" : "row"
    out += "<text x=\(f(Self.width / 2)) y=\(f(y + 32)) text-anchor=\"middle\" fill=\"#666\">\(caption)</text>\n"
    return out
  }

  private func tickLabel(_ v: Double) -> String {
    let magnitude = abs(v)
    if magnitude != 0 && (magnitude >= 1e5 || magnitude < 1e-3) { return String(format: "%.2e", v) }
    let rounded = (v * 1000).rounded() / 1000
    return String(format: "%g", rounded == 0 ? 0 : rounded)
  }

  /// An attribute value, quoted.
  private func f(_ v: Double) -> String { "\"\(fmt(v))\"" }
  private func fmt(_ v: Double) -> String { String(format: "%.1f", v) }
}

/// Readings to pixels along x: evenly by index (irregular timestamps keep their order), with
/// tick labels from the timestamps or row numbers.
struct XScale {
  let series: PlotSeries
  let left: Double
  let right: Double

  func callAsFunction(_ i: Int) -> Double {
    series.count <= 1 ? left : left + (right - left) * Double(i) / Double(series.count - 1)
  }

  /// The indices a line is drawn through: every reading, or every k-th with each event kept.
  var sampled: [Int] {
    let step = max(1, series.count / SVGChart.maxPoints)
    guard step > 1 else { return Array(0..<series.count) }
    return (0..<series.count).filter { $0 % step == 0 || series.anomaly[$0] || $0 == series.count - 1 }
  }

  func ticks(count: Int = 6) -> [(Int, String)] {
    guard series.count > 1 else { return [(0, label(0))] }
    return (0..<count).map { k in
      let i = Int((Double(k) / Double(count - 1) * Double(series.count - 1)).rounded())
      return (i, label(i))
    }
  }

  private func label(_ i: Int) -> String {
    guard series.xIsTime else { return String(Int(series.x[i])) }
    let date = Date(timeIntervalSince1970: series.x[i] / 1000)
    let formatter = DateFormatter()
    formatter.timeZone = TimeZone(identifier: "UTC")
    let spanMs = (series.x.last ?? 0) - (series.x.first ?? 0)
    formatter.dateFormat = spanMs > 86_400_000 ? "MM-dd HH:mm" : "HH:mm:ss"
    return formatter.string(from: date)
  }
}

/// Values to pixels along y, with about five round ticks.
struct YScale {
  let low: Double
  let high: Double
  let top: Double
  let height: Double
  let ticks: [Double]

  init(low: Double, high: Double, top: Double, height: Double, ticks: [Double]? = nil) {
    (self.low, self.high, self.top, self.height) = (low, high, top, height)
    self.ticks = ticks ?? YScale.roundTicks(low: low, high: high)
  }

  func callAsFunction(_ v: Double) -> Double {
    top + height * (1 - (v - low) / (high - low))
  }

  /// A value within the panel's range.
  func clampedValue(_ v: Double) -> Double {
    v.isFinite ? min(max(v, low), high) : v
  }

  /// Within the panel (a band wider than the readings' range is cut at its edges).
  func clamped(_ v: Double) -> Double {
    min(max(self(v), top), top + height)
  }

  static func roundTicks(low: Double, high: Double) -> [Double] {
    let raw = (high - low) / 5
    guard raw > 0, raw.isFinite else { return [low] }
    let power = pow(10, floor(log10(raw)))
    let step = [1.0, 2, 2.5, 5, 10].map { $0 * power }.first { $0 >= raw } ?? 10 * power
    var ticks: [Double] = []
    var t = (low / step).rounded(.up) * step
    while t <= high {
      ticks.append(t)
      t += step
    }
    return ticks
  }
}

/// Text safe inside SVG elements and attributes.
func escape(_ text: String) -> String {
  var out = ""
  for c in text {
    switch c {
    case "&": out += "&amp;"
    case "<": out += "&lt;"
    case ">": out += "&gt;"
    case "\"": out += "&quot;"
    default: out.append(c)
    }
  }
  return out
}
