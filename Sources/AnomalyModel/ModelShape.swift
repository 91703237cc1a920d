/// The sizes of one stream's model and where each weight matrix lives in its flat parameter
/// buffer.
///
/// All parameters of a model sit in one contiguous `[Float]` so that a gradient step, a
/// checkpoint and a copy are each a single loop or memcpy. Matrices are stored column-major
/// ("accumulate columns"): `y += W[:, j] * x[j]` walks memory contiguously and vectorises,
/// which measured 4–10× faster here than row-wise dot products.
///
/// Layout (H = hidden, C = channels, D = attention dimension):
///
///     gruInput    3H × C   columns of [z | r | n] input weights
///     gruGates    2H × H   columns of [z | r] recurrent weights
///     gruCandidate H × H   recurrent weights of the candidate state (applied to r ⊙ h)
///     gruBias     3H       [z | r | n]
///     query        D × H   Wq: query from the current hidden state
///     key          D × H   Wk: keys from the stored context states
///     readout      C × H   Wo: linear correction from the hidden state
///     readoutBias  C       bo
///     attentionGain C      γ: per-channel weight of the attention read-out
public struct ModelShape: Equatable, Sendable {
  public let channels: Int
  public let hidden: Int
  public let attentionDim: Int
  public let window: Int

  public init(channels: Int, hidden: Int, attentionDim: Int, window: Int) {
    precondition(channels > 0 && hidden > 0 && attentionDim > 0 && window > 0)
    self.channels = channels
    self.hidden = hidden
    self.attentionDim = attentionDim
    self.window = window
  }

  // Inlined by force: the chain of offsets, recomputed at every use, was 2 % of a step's
  // instructions when the optimiser left a getter as a call.
  @inline(__always) public var gruInput: Int { 0 }
  @inline(__always) public var gruGates: Int { gruInput + 3 * hidden * channels }
  @inline(__always) public var gruCandidate: Int { gruGates + 2 * hidden * hidden }
  @inline(__always) public var gruBias: Int { gruCandidate + hidden * hidden }
  @inline(__always) public var query: Int { gruBias + 3 * hidden }
  @inline(__always) public var key: Int { query + attentionDim * hidden }
  @inline(__always) public var readout: Int { key + attentionDim * hidden }
  @inline(__always) public var readoutBias: Int { readout + channels * hidden }
  @inline(__always) public var attentionGain: Int { readoutBias + channels }
  @inline(__always) public var parameterCount: Int { attentionGain + channels }
}
