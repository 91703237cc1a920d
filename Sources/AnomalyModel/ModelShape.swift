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

  public var gruInput: Int { 0 }
  public var gruGates: Int { gruInput + 3 * hidden * channels }
  public var gruCandidate: Int { gruGates + 2 * hidden * hidden }
  public var gruBias: Int { gruCandidate + hidden * hidden }
  public var query: Int { gruBias + 3 * hidden }
  public var key: Int { query + attentionDim * hidden }
  public var readout: Int { key + attentionDim * hidden }
  public var readoutBias: Int { readout + channels * hidden }
  public var attentionGain: Int { readoutBias + channels }
  public var parameterCount: Int { attentionGain + channels }
}
