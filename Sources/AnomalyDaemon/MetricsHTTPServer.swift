import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The Prometheus scrape endpoint (`server.metrics_listen`): `GET /metrics` answers the
/// exposition text, `/` a line saying where it is; nothing else, and no method changes anything.
///
/// SwiftNIO serves HTTP on one event-loop thread; the text is rendered on a separate thread of
/// a one-thread pool, because rendering asks every worker for its streams' gauges and waits for
/// the answers, which must not block the event loop (nor, through it, another scrape).
final class MetricsHTTPServer: Sendable {
  private let group: MultiThreadedEventLoopGroup
  private let pool: NIOThreadPool
  private let channel: any Channel
  /// The address bound, with the port the kernel chose for port 0.
  let boundAddress: String

  init(host: String, port: Int, logger: Logger, render: @escaping @Sendable () -> String) throws {
    group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    pool = NIOThreadPool(numberOfThreads: 1)
    pool.start()
    let pool = pool
    do {
      channel = try ServerBootstrap(group: group)
        .serverChannelOption(.backlog, value: 64)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelInitializer { channel in
          channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
            try channel.pipeline.syncOperations.addHandler(MetricsRequestHandler(pool: pool, render: render))
          }
        }
        .bind(host: host, port: port)
        .wait()
    } catch {
      try? pool.syncShutdownGracefully()
      try? group.syncShutdownGracefully()
      throw error
    }
    let address = channel.localAddress
    boundAddress =
      address.map { a in
        a.protocol == .inet6 ? "[\(a.ipAddress ?? host)]:\(a.port ?? port)" : "\(a.ipAddress ?? host):\(a.port ?? port)"
      }
      ?? "\(host):\(port)"
    logger.info("serving Prometheus metrics", metadata: ["url": "http://\(boundAddress)/metrics"])
  }

  /// Closes the listener and the connections, then the threads.
  func shutdown() {
    try? channel.close().wait()
    try? group.syncShutdownGracefully()
    try? pool.syncShutdownGracefully()
  }
}

/// One connection's requests, answered in order (HTTP/1.1 keep-alive, as Prometheus scrapes).
private final class MetricsRequestHandler: ChannelInboundHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart

  private let pool: NIOThreadPool
  private let render: @Sendable () -> String
  private var request: HTTPRequestHead?

  init(pool: NIOThreadPool, render: @escaping @Sendable () -> String) {
    self.pool = pool
    self.render = render
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let head): request = head
    case .body: break  // A scrape has no body; any is ignored.
    case .end:
      guard let head = request else { return }
      request = nil
      respond(to: head, context: context)
    }
  }

  private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
    let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
    guard head.method == .GET || head.method == .HEAD else {
      send(.methodNotAllowed, "only GET and HEAD\n", extra: [("Allow", "GET, HEAD")], to: head, context: context)
      return
    }
    switch path {
    case "/metrics":
      let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
      let render = render
      pool.runIfActive(eventLoop: context.eventLoop) { render() }.whenComplete { result in
        let (handler, context) = loopBound.value
        switch result {
        case .success(let text):
          handler.send(
            .ok, text, extra: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")], to: head,
            context: context)
        case .failure:
          handler.send(.serviceUnavailable, "anomalyd is stopping\n", extra: [], to: head, context: context)
        }
      }
    case "/":
      send(.ok, "anomalyd: Prometheus metrics at /metrics\n", extra: [], to: head, context: context)
    default:
      send(.notFound, "not found: only /metrics is served\n", extra: [], to: head, context: context)
    }
  }

  private func send(
    _ status: HTTPResponseStatus, _ body: String, extra: [(String, String)], to request: HTTPRequestHead,
    context: ChannelHandlerContext
  ) {
    var headers = HTTPHeaders(extra)
    if extra.allSatisfy({ $0.0 != "Content-Type" }) {
      headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
    }
    let bytes = context.channel.allocator.buffer(string: body)
    headers.add(name: "Content-Length", value: "\(bytes.readableBytes)")
    if !request.isKeepAlive { headers.add(name: "Connection", value: "close") }
    context.write(
      wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil
    )
    if request.method != .HEAD { context.write(wrapOutboundOut(.body(.byteBuffer(bytes))), promise: nil) }
    let keepAlive = request.isKeepAlive
    let channel = context.channel
    context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
      if !keepAlive { channel.close(promise: nil) }
    }
  }
}
