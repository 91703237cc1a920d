/// Scratch buffers for one model step, shared by every model a worker runs.
///
/// A step's intermediates (query, attention weights, gradient…) are needed only between
/// `predict` and `learn` of one sample, so one workspace per worker thread serves all of its
/// streams. Keeping them out of the per-stream model saves several KiB per stream and
/// allocates nothing per sample.
public final class ModelWorkspace {
  private var capacityShape: ModelShape?
  /// The shape of the last `prepare`, which the buffers are known to fit.
  private var preparedShape: ModelShape?
  private var buffer: UnsafeMutablePointer<Float>
  private var bufferCount: Int

  @usableFromInline var gradient: UnsafeMutablePointer<Float>
  @usableFromInline var query: UnsafeMutablePointer<Float>
  @usableFromInline var queryGradient: UnsafeMutablePointer<Float>
  @usableFromInline var keyProjection: UnsafeMutablePointer<Float>
  @usableFromInline var keyProjectionGradient: UnsafeMutablePointer<Float>
  @usableFromInline var scores: UnsafeMutablePointer<Float>
  @usableFromInline var scoreGradient: UnsafeMutablePointer<Float>
  @usableFromInline var attention: UnsafeMutablePointer<Float>
  @usableFromInline var residual: UnsafeMutablePointer<Float>
  @usableFromInline var hiddenGradient: UnsafeMutablePointer<Float>
  @usableFromInline var gateGradient: UnsafeMutablePointer<Float>
  @usableFromInline var gatePreactivation: UnsafeMutablePointer<Float>
  @usableFromInline var resetHidden: UnsafeMutablePointer<Float>
  @usableFromInline var attentionGradient: UnsafeMutablePointer<Float>
  /// The reconstruction of the next input, in normalised units, written by `predict`.
  public private(set) var prediction: UnsafeMutablePointer<Float>

  public init() {
    bufferCount = 1
    buffer = .allocate(capacity: 1)
    gradient = buffer
    query = buffer
    queryGradient = buffer
    keyProjection = buffer
    keyProjectionGradient = buffer
    scores = buffer
    scoreGradient = buffer
    attention = buffer
    residual = buffer
    hiddenGradient = buffer
    gateGradient = buffer
    gatePreactivation = buffer
    resetHidden = buffer
    attentionGradient = buffer
    prediction = buffer
  }

  deinit {
    buffer.deallocate()
  }

  /// Makes every buffer large enough for `shape`; allocates only when a larger shape appears.
  @usableFromInline func prepare(for shape: ModelShape) {
    // Nearly every call comes with the shape of the call before: four comparisons.
    if shape == preparedShape { return }
    defer { preparedShape = shape }
    if let current = capacityShape, current.channels >= shape.channels,
      current.hidden >= shape.hidden, current.attentionDim >= shape.attentionDim,
      current.window >= shape.window, current.parameterCount >= shape.parameterCount
    {
      return
    }
    let grown = ModelShape(
      channels: max(shape.channels, capacityShape?.channels ?? 0),
      hidden: max(shape.hidden, capacityShape?.hidden ?? 0),
      attentionDim: max(shape.attentionDim, capacityShape?.attentionDim ?? 0),
      window: max(shape.window, capacityShape?.window ?? 0))
    let sizes = [
      grown.parameterCount, grown.attentionDim, grown.attentionDim, grown.hidden, grown.hidden,
      grown.window, grown.window, grown.channels, grown.channels, grown.hidden, 3 * grown.hidden,
      3 * grown.hidden, grown.hidden, grown.channels, grown.channels,
    ]
    buffer.deallocate()
    bufferCount = sizes.reduce(0, +)
    buffer = .allocate(capacity: bufferCount)
    buffer.initialize(repeating: 0, count: bufferCount)
    var offset = 0
    func next(_ index: Int) -> UnsafeMutablePointer<Float> {
      defer { offset += sizes[index] }
      return buffer + offset
    }
    gradient = next(0)
    query = next(1)
    queryGradient = next(2)
    keyProjection = next(3)
    keyProjectionGradient = next(4)
    scores = next(5)
    scoreGradient = next(6)
    attention = next(7)
    residual = next(8)
    hiddenGradient = next(9)
    gateGradient = next(10)
    gatePreactivation = next(11)
    resetHidden = next(12)
    prediction = next(13)
    attentionGradient = next(14)
    capacityShape = grown
  }

  /// The gradient written by the last `learn` (or `computeGradient`), for tests.
  func gradientCopy(count: Int) -> [Float] {
    Array(UnsafeBufferPointer(start: gradient, count: count))
  }
}
