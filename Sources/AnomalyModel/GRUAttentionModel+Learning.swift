/// The backward pass and the online update of `GRUAttentionModel`: one truncated step of
/// clipped SGD on the Huber loss of the last reconstruction (see the type's documentation).
extension GRUAttentionModel {
  /// One online learning step toward `target` (the input that was just scored), using the
  /// forward pass cached by the preceding `predict`. Returns the Huber loss.
  ///
  /// Every weight block's gradient is an outer product of two short vectors (or a vector), so
  /// the step never writes the gradient out: its norm, for clipping, is the sum over blocks of
  /// |a|²·|b|², and each block is updated row by row as W_i −= step · a_i · b. One pass over the
  /// parameters instead of three (write the gradient, take its norm, apply it); the result is
  /// plain clipped SGD on the gradient `computeGradient` writes (a test checks they agree).
  @discardableResult
  public func learn(
    target: UnsafePointer<Float>, learningRate: Float, huberDelta: Float, maxGradientNorm: Float,
    _ ws: ModelWorkspace
  ) -> Float {
    let loss = computeGradientFactors(target: target, huberDelta: huberDelta, ws)
    let s = shape
    let (H, C, D) = (s.hidden, s.channels, s.attentionDim)
    let p = storage
    let lay = layout
    let h = UnsafePointer(p + lay.hidden)
    let residual = UnsafePointer(ws.residual)
    let attention = UnsafePointer(ws.attention)
    let q = UnsafePointer(ws.query)
    let du = UnsafePointer(ws.keyProjectionGradient)
    let dq = UnsafePointer(ws.queryGradient)
    let gates = UnsafePointer(ws.gateGradient)
    let resetHidden = UnsafePointer(ws.resetHidden)
    let xp = UnsafePointer(p + lay.savedInput)
    let hp = UnsafePointer(p + lay.savedHidden)
    let hh = Kernels.dot(h, h, H)
    let rr = Kernels.dot(residual, residual, C)
    var squaredNorm = rr + rr * hh
    for c in 0..<C { squaredNorm += (residual[c] * attention[c]) * (residual[c] * attention[c]) }
    squaredNorm += Kernels.dot(du, du, H) * Kernels.dot(q, q, D) + hh * Kernels.dot(dq, dq, D)
    if hasStep {
      let twoH = 2 * H
      let threeH = 3 * H
      let candidate = gates + twoH
      let all = Kernels.dot(gates, gates, threeH)
      squaredNorm += Kernels.dot(resetHidden, resetHidden, H) * Kernels.dot(candidate, candidate, H)
      squaredNorm += Kernels.dot(xp, xp, C) * all + Kernels.dot(hp, hp, H) * Kernels.dot(gates, gates, twoH) + all
    }
    let norm = squaredNorm.squareRoot()
    guard norm.isFinite else { return loss }
    let step = -(norm > maxGradientNorm ? learningRate * maxGradientNorm / norm : learningRate)
    for c in 0..<C {
      p[s.attentionGain + c] += step * residual[c] * attention[c]
      p[s.readoutBias + c] += step * residual[c]
    }
    Kernels.addOuterProduct(p + s.readout, h, scale: step, residual, rows: H, cols: C)
    Kernels.addOuterProduct(p + s.key, du, scale: step, q, rows: H, cols: D)
    Kernels.addOuterProduct(p + s.query, h, scale: step, dq, rows: H, cols: D)
    if hasStep {
      let twoH = 2 * H
      let threeH = 3 * H
      Kernels.addOuterProduct(p + s.gruCandidate, resetHidden, scale: step, gates + twoH, rows: H, cols: H)
      Kernels.addOuterProduct(p + s.gruGates, hp, scale: step, gates, rows: H, cols: twoH)
      Kernels.addOuterProduct(p + s.gruInput, xp, scale: step, gates, rows: C, cols: threeH)
      Kernels.axpy(p + s.gruBias, gates, step, threeH)
    }
    return loss
  }

  /// Writes dLoss/dθ for the cached forward pass into `workspace.gradient`; returns the loss.
  /// `learn` does not need it written out; tests check it against finite differences.
  @usableFromInline func computeGradient(
    target x: UnsafePointer<Float>, huberDelta delta: Float, _ ws: ModelWorkspace
  ) -> Float {
    let loss = computeGradientFactors(target: x, huberDelta: delta, ws)
    let s = shape
    let (H, C, D) = (s.hidden, s.channels, s.attentionDim)
    let p = UnsafePointer(storage)
    let grad = ws.gradient
    let h = p + layout.hidden
    let residual = ws.residual
    for c in 0..<C {
      grad[s.attentionGain + c] = residual[c] * ws.attention[c]
      grad[s.readoutBias + c] = residual[c]
    }
    for i in 0..<H {
      Kernels.scale(grad + s.readout + i * C, residual, h[i], C)
      Kernels.scale(grad + s.key + i * D, ws.query, ws.keyProjectionGradient[i], D)
      Kernels.scale(grad + s.query + i * D, ws.queryGradient, h[i], D)
    }
    guard hasStep else {
      for i in s.gruInput..<s.query { grad[i] = 0 }
      return loss
    }
    let gates = ws.gateGradient
    let twoH = 2 * H
    let threeH = 3 * H
    for j in 0..<H {
      Kernels.scale(grad + s.gruCandidate + j * H, gates + twoH, ws.resetHidden[j], H)
      Kernels.scale(grad + s.gruGates + j * twoH, gates, p[layout.savedHidden + j], twoH)
    }
    for c in 0..<C { Kernels.scale(grad + s.gruInput + c * threeH, gates, p[layout.savedInput + c], threeH) }
    (grad + s.gruBias).update(from: gates, count: threeH)
    return loss
  }

  /// The backward pass, kept as the vectors whose outer products make each block's gradient:
  /// `residual` (read-out), `keyProjectionGradient` (already divided by √D; key rows),
  /// `queryGradient` (query rows), `gateGradient` (the GRU's update, reset and candidate
  /// pre-activation gradients) and `resetHidden` (r ⊙ h', candidate rows). Returns the loss.
  @usableFromInline func computeGradientFactors(
    target x: UnsafePointer<Float>, huberDelta delta: Float, _ ws: ModelWorkspace
  ) -> Float {
    let s = shape
    let (H, C, D) = (s.hidden, s.channels, s.attentionDim)
    let lay = layout
    let p = UnsafePointer(storage)
    let residual = ws.residual
    var loss: Float = 0
    for c in 0..<C {
      let r = ws.prediction[c] - x[c]
      let a = abs(r)
      if a <= delta {
        loss += 0.5 * r * r
        residual[c] = r
      } else {
        loss += delta * (a - 0.5 * delta)
        residual[c] = r > 0 ? delta : -delta
      }
    }
    let dh = ws.hiddenGradient
    // Read-out: x̂ = γ ⊙ a + Wo h + bo.
    Kernels.rowDots(into: dh, accumulate: false, p + s.readout, residual, rows: H, cols: C)
    // Attention: a = Σ p_j v_j, p = softmax(s), s_j = u · c_j, u = Wk^T q / √D, q = Wq h.
    let n = windowCount
    let du = ws.keyProjectionGradient
    if n == 0 { du.update(repeating: 0, count: H) }
    if n > 0 {
      let probs = ws.scores
      let values = p + lay.values
      let contexts = p + lay.contexts
      let dScores = ws.scoreGradient
      // d(attention) = residual ⊙ γ, kept in `attentionGradient`.
      let da = ws.attentionGradient
      for c in 0..<C { da[c] = residual[c] * p[s.attentionGain + c] }
      Kernels.rowDots(into: dScores, accumulate: false, values, da, rows: n, cols: C)
      let weighted = Kernels.dot(probs, dScores, n)
      // dL/ds_j = p_j (g_j − Σ_k p_k g_k); du = Σ_j dL/ds_j · c_j.
      for j in 0..<n { dScores[j] = probs[j] * (dScores[j] - weighted) }
      Kernels.combineRows(into: du, accumulate: false, contexts, dScores, rows: n, cols: H)
    }
    let invSqrtD = 1 / Float(D).squareRoot()
    let dq = ws.queryGradient
    Kernels.scale(du, du, invSqrtD, H)
    Kernels.combineRows(into: dq, accumulate: false, p + s.key, du, rows: H, cols: D)
    Kernels.rowDots(into: dh, accumulate: true, p + s.query, dq, rows: H, cols: D)
    if hasStep { backpropagateGRU(hiddenGradient: dh, ws) }
    return loss
  }

  /// Through the last GRU step `h = (1 − z) ⊙ n + z ⊙ h'`: the pre-activation gradients of
  /// its gates, and r ⊙ h'.
  private func backpropagateGRU(hiddenGradient dh: UnsafeMutablePointer<Float>, _ ws: ModelWorkspace) {
    let (H, lay) = (shape.hidden, layout)
    let p = UnsafePointer(storage)
    let hp = p + lay.savedHidden
    let z = p + lay.savedUpdate
    let r = p + lay.savedReset
    let nn = p + lay.savedCandidate
    let daz = ws.gateGradient
    let dar = ws.gateGradient + H
    let dan = ws.gateGradient + 2 * H
    let resetHidden = ws.resetHidden
    for k in 0..<H {
      let dn = dh[k] * (1 - z[k])
      let dz = dh[k] * (hp[k] - nn[k])
      dan[k] = dn * (1 - nn[k] * nn[k])
      daz[k] = dz * z[k] * (1 - z[k])
      resetHidden[k] = r[k] * hp[k]
    }
    // Candidate: a_n = Wn x' + Un (r ⊙ h') + bn, so d(r_j) = (Un^T dan)_j · h'_j.
    Kernels.rowDots(into: dar, accumulate: false, p + shape.gruCandidate, dan, rows: H, cols: H)
    for j in 0..<H { dar[j] *= hp[j] * r[j] * (1 - r[j]) }
  }
}
