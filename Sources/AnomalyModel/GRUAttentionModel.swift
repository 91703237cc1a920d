import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// One stream's recurrent-attention model: a GRU that summarises the stream's recent past,
/// and scaled dot-product attention over a sliding window of earlier steps that reconstructs
/// the next input from what followed similar contexts before.
///
/// For the input `x_t` the model is asked for `x̂_t` before it sees `x_t`:
///
///     h_{t-1}   GRU state after x_{t-1}                     (H)
///     q = Wq h_{t-1}                                          (D)
///     window slot j holds (c_j, v_j) = (h_{j-1}, x_j): the context before x_j and x_j itself
///     s_j = q · (Wk c_j) / √D,  p = softmax(s),  a = Σ_j p_j v_j   (C)
///     x̂_t = γ ⊙ a + Wo h_{t-1} + bo
///
/// `x_t` enters only afterwards, through `advance(_:)`, which pushes `(h_{t-1}, x_t)` into the
/// window and computes `h_t`. The reconstruction therefore cannot copy the value it is scored
/// on; the attention values are inputs that were already observed.
///
/// Learning is online, one truncated step: the Huber loss of the reconstruction is
/// differentiated with respect to every parameter through the attention, the read-out and the
/// last GRU step (`h_{t-1} = GRU(x_{t-1}, h_{t-2})`, with `h_{t-2}` and the window contents
/// treated as constants). `lossForTesting` recomputes exactly that function so the gradient can
/// be checked against finite differences.
///
/// In the code, H, C and D are the sizes of the formulas above (hidden state, channels,
/// attention); keeping the notation makes the code checkable against them.
///
/// Not thread-safe: each model belongs to the worker that owns its stream.
public final class GRUAttentionModel {
  public let shape: ModelShape

  /// Everything the model owns, in one allocation: parameters, then state.
  @usableFromInline let storage: UnsafeMutablePointer<Float>
  @usableFromInline let storageCount: Int
  /// Where each piece of state sits in `storage` (fixed by the shape, computed once).
  let layout: StorageLayout

  /// How many slots of the window hold an observed step.
  public internal(set) var windowCount = 0
  /// The slot the next step goes into.
  @usableFromInline var windowNext = 0
  /// Whether the saved GRU step (input, previous hidden, gates) is valid for backpropagation.
  public internal(set) var hasStep = false

  public init(shape: ModelShape, seed: UInt64) {
    self.shape = shape
    layout = GRUAttentionModel.storageLayout(shape)
    storageCount = layout.total
    storage = .allocate(capacity: storageCount)
    storage.initialize(repeating: 0, count: storageCount)
    initialiseParameters(seed: seed)
  }

  deinit {
    storage.deallocate()
  }

  // MARK: Storage layout

  struct StorageLayout {
    var hidden: Int
    var savedInput: Int
    var savedHidden: Int
    var savedUpdate: Int
    var savedReset: Int
    var savedCandidate: Int
    var contexts: Int
    var values: Int
    var total: Int
  }

  static func storageLayout(_ s: ModelShape) -> StorageLayout {
    let hidden = s.parameterCount
    let savedInput = hidden + s.hidden
    let savedHidden = savedInput + s.channels
    let savedUpdate = savedHidden + s.hidden
    let savedReset = savedUpdate + s.hidden
    let savedCandidate = savedReset + s.hidden
    let contexts = savedCandidate + s.hidden
    let values = contexts + s.window * s.hidden
    let total = values + s.window * s.channels
    return StorageLayout(
      hidden: hidden, savedInput: savedInput, savedHidden: savedHidden, savedUpdate: savedUpdate,
      savedReset: savedReset, savedCandidate: savedCandidate, contexts: contexts, values: values,
      total: total)
  }

  /// The flat parameter buffer (see `ModelShape` for its layout).
  public var parameters: UnsafeMutableBufferPointer<Float> {
    UnsafeMutableBufferPointer(start: storage, count: shape.parameterCount)
  }

  /// Parameters and state together: what a checkpoint must save to resume exactly.
  public var rawStorage: UnsafeMutableBufferPointer<Float> {
    UnsafeMutableBufferPointer(start: storage, count: storageCount)
  }

  /// Restores the window bookkeeping after `rawStorage` was overwritten from a checkpoint.
  public func restoreBookkeeping(windowCount: Int, windowNext: Int, hasStep: Bool) -> Bool {
    guard (0...shape.window).contains(windowCount), (0..<shape.window).contains(windowNext)
    else { return false }
    self.windowCount = windowCount
    self.windowNext = windowNext
    self.hasStep = hasStep
    return true
  }

  public var bookkeeping: (windowCount: Int, windowNext: Int, hasStep: Bool) {
    (windowCount, windowNext, hasStep)
  }

  /// Forgets everything learned and observed: fresh weights from `seed`, empty state.
  public func reset(seed: UInt64) {
    storage.update(repeating: 0, count: storageCount)
    windowCount = 0
    windowNext = 0
    hasStep = false
    initialiseParameters(seed: seed)
  }

  /// Every stream of a configuration starts from the same weights, and drawing them was two
  /// thirds of the cost of a new stream: they are drawn once per shape and seed, then copied.
  private func initialiseParameters(seed: UInt64) {
    let key = InitialParameters.Key(shape: shape, seed: seed)
    if let cached = InitialParameters.cache.withLock({ $0[key] }) {
      cached.withUnsafeBufferPointer { storage.update(from: $0.baseAddress!, count: $0.count) }
      return
    }
    drawParameters(seed: seed)
    let drawn = Array(parameters)
    InitialParameters.cache.withLock { cache in
      if cache.count < InitialParameters.limit { cache[key] = drawn }
    }
  }

  private func drawParameters(seed: UInt64) {
    var rng = SplitMix64(seed: seed)
    let s = shape
    func fill(_ offset: Int, _ count: Int, scale: Float) {
      for i in 0..<count { storage[offset + i] = scale * rng.nextSymmetricUnit() }
    }
    let recurrentScale = 1 / Float(s.hidden).squareRoot()
    fill(s.gruInput, 3 * s.hidden * s.channels, scale: 1 / Float(s.channels).squareRoot())
    fill(s.gruGates, 2 * s.hidden * s.hidden, scale: recurrentScale)
    fill(s.gruCandidate, s.hidden * s.hidden, scale: recurrentScale)
    fill(s.query, s.attentionDim * s.hidden, scale: recurrentScale)
    fill(s.key, s.attentionDim * s.hidden, scale: recurrentScale)
    // The read-out starts as a pure attention average: the nearest-context reconstruction,
    // which is already a sensible guess before anything is learned.
    for c in 0..<s.channels { storage[s.attentionGain + c] = 1 }
  }

  // MARK: Forward

  /// Computes the reconstruction of the next input from the current state into
  /// `workspace.prediction`, caching what `learn` needs.
  public func predict(_ workspace: ModelWorkspace) {
    forward(hidden: storage + layout.hidden, workspace)
  }

  @usableFromInline func forward(hidden h: UnsafePointer<Float>, _ ws: ModelWorkspace) {
    let s = shape
    let (H, C, D) = (s.hidden, s.channels, s.attentionDim)
    let p = UnsafePointer(storage)
    let lay = layout
    ws.prepare(for: s)
    let q = ws.query
    let u = ws.keyProjection
    // q = Wq h, as a combination of Wq's rows.
    Kernels.combineRows(into: q, accumulate: false, p + s.query, h, rows: H, cols: D)
    // u = Wk^T q / √D, so that s_j = u · c_j without projecting every stored context.
    Kernels.rowDots(into: u, accumulate: false, p + s.key, q, rows: H, cols: D)
    Kernels.scale(u, u, 1 / Float(D).squareRoot(), H)
    let n = windowCount
    let attention = ws.attention
    for c in 0..<C { attention[c] = 0 }
    if n > 0 {
      let scores = ws.scores
      let contexts = p + lay.contexts
      Kernels.rowDots(into: scores, accumulate: false, contexts, u, rows: n, cols: H)
      var maxScore = -Float.greatestFiniteMagnitude
      for j in 0..<n { maxScore = max(maxScore, scores[j]) }
      let total = Kernels.shiftedExp(scores, scores, shift: maxScore, n)
      let inv = 1 / total
      Kernels.scale(scores, scores, inv, n)
      Kernels.combineRows(into: attention, accumulate: false, p + lay.values, scores, rows: n, cols: C)
    }
    let out = ws.prediction
    for c in 0..<C { out[c] = p[s.attentionGain + c] * attention[c] + p[s.readoutBias + c] }
    Kernels.combineRows(into: out, accumulate: true, p + s.readout, h, rows: H, cols: C)
  }

  // MARK: Advancing the state

  /// Feeds the observed (normalised) input: stores `(h_{t-1}, x_t)` in the window and steps
  /// the GRU to `h_t`, saving the gates for the next backward pass.
  public func advance(_ x: UnsafePointer<Float>, _ ws: ModelWorkspace) {
    let s = shape
    let (H, C) = (s.hidden, s.channels)
    let lay = layout
    let h = storage + lay.hidden
    let slot = windowNext
    Kernels.copy(storage + lay.contexts + slot * H, h, H)
    Kernels.copy(storage + lay.values + slot * C, x, C)
    windowNext = slot + 1 == s.window ? 0 : slot + 1
    windowCount = min(windowCount + 1, s.window)
    Kernels.copy(storage + lay.savedInput, x, C)
    Kernels.copy(storage + lay.savedHidden, h, H)
    ws.prepare(for: s)
    gruStep(
      input: x, previous: storage + lay.savedHidden, output: h,
      update: storage + lay.savedUpdate, reset: storage + lay.savedReset,
      candidate: storage + lay.savedCandidate, ws)
    hasStep = true
  }

  private func gruStep(
    input x: UnsafePointer<Float>, previous hp: UnsafePointer<Float>,
    output h: UnsafeMutablePointer<Float>, update z: UnsafeMutablePointer<Float>,
    reset r: UnsafeMutablePointer<Float>, candidate nn: UnsafeMutablePointer<Float>,
    _ ws: ModelWorkspace
  ) {
    let s = shape
    let (H, C) = (s.hidden, s.channels)
    let p = UnsafePointer(storage)
    let pre = ws.gatePreactivation
    let threeH = 3 * H
    let twoH = 2 * H
    Kernels.copy(pre, p + s.gruBias, threeH)
    Kernels.combineRows(into: pre, accumulate: true, p + s.gruInput, x, rows: C, cols: threeH)
    Kernels.combineRows(into: pre, accumulate: true, p + s.gruGates, hp, rows: H, cols: twoH)
    Kernels.logistic(z, pre, H)
    Kernels.logistic(r, pre + H, H)
    let resetHidden = ws.resetHidden
    for j in 0..<H { resetHidden[j] = r[j] * hp[j] }
    Kernels.combineRows(into: pre + twoH, accumulate: true, p + s.gruCandidate, resetHidden, rows: H, cols: H)
    Kernels.tanh(nn, pre + twoH, H)
    for k in 0..<H { h[k] = (1 - z[k]) * nn[k] + z[k] * hp[k] }
  }

  // MARK: Testing hooks

  /// The truncated loss as a function of the current parameters: recomputes the last GRU step
  /// from its saved input and previous state, then the reconstruction. Slow; for gradient
  /// checks only.
  func lossForTesting(target x: UnsafePointer<Float>, huberDelta delta: Float, _ ws: ModelWorkspace)
    -> Float
  {
    let (lay, H) = (layout, shape.hidden)
    let hidden = UnsafeMutablePointer<Float>.allocate(capacity: 4 * H)
    defer { hidden.deallocate() }
    if hasStep {
      gruStep(
        input: storage + lay.savedInput, previous: storage + lay.savedHidden, output: hidden,
        update: hidden + H, reset: hidden + 2 * H, candidate: hidden + 3 * H, ws)
    } else {
      hidden.update(from: storage + lay.hidden, count: H)
    }
    forward(hidden: hidden, ws)
    var loss: Float = 0
    for c in 0..<shape.channels {
      let a = abs(ws.prediction[c] - x[c])
      loss += a <= delta ? 0.5 * a * a : delta * (a - 0.5 * delta)
    }
    return loss
  }
}

/// The cache behind `GRUAttentionModel.initialiseParameters`, shared by every worker thread.
enum InitialParameters {
  struct Key: Hashable {
    var channels: Int
    var hidden: Int
    var attentionDim: Int
    var seed: UInt64

    init(shape: ModelShape, seed: UInt64) {
      channels = shape.channels
      hidden = shape.hidden
      attentionDim = shape.attentionDim
      self.seed = seed
    }
  }

  /// Distinct shapes kept (streams with other channel counts, other configurations after a
  /// reload); beyond it new shapes are drawn each time, so memory stays bounded.
  static let limit = 64
  static let cache = Mutex<[Key: [Float]]>([:])
}
