import NIOCore
import NIOHTTP1
import NIOPosix

/// Blocking HTTP/1.1 POSTs of JSON over SwiftNIO, for the Alertmanager sink's thread: one
/// connection per request (a handful a minute), a deadline on each, the status code back.
final class HTTPPoster: Sendable {
  struct Failure: Error, CustomStringConvertible {
    let description: String
  }

  private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
  let host: String
  let port: Int

  init(host: String, port: Int) {
    self.host = host
    self.port = port
  }

  /// Sends `body` to `path` and waits for the response; returns its status code. Throws when
  /// the connection, the request or the response takes longer than `timeout` seconds.
  func post(path: String, json body: String, timeout: Double) throws -> Int {
    let loop = group.next()
    let status = loop.makePromise(of: Int.self)
    let deadline = loop.scheduleTask(in: .milliseconds(Int64(timeout * 1000))) {
      status.fail(Failure(description: "no answer within \(timeout) s"))
    }
    defer { deadline.cancel() }
    let channel: any Channel
    do {
      channel = try ClientBootstrap(group: loop)
        .connectTimeout(.milliseconds(Int64(timeout * 1000)))
        .channelInitializer { channel in
          channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHTTPClientHandlers()
            try channel.pipeline.syncOperations.addHandler(StatusHandler(status: status))
          }
        }
        .connect(host: host, port: port)
        .wait()
    } catch {
      status.fail(error)
      throw Failure(description: "connect \(host):\(port): \(error)")
    }
    defer { channel.close(promise: nil) }
    var headers = HTTPHeaders()
    headers.add(name: "Host", value: "\(host):\(port)")
    headers.add(name: "Content-Type", value: "application/json")
    headers.add(name: "Connection", value: "close")
    let bytes = channel.allocator.buffer(string: body)
    headers.add(name: "Content-Length", value: "\(bytes.readableBytes)")
    let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path, headers: headers)
    channel.write(HTTPClientRequestPart.head(head), promise: nil)
    channel.write(HTTPClientRequestPart.body(.byteBuffer(bytes)), promise: nil)
    channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
    do {
      return try status.futureResult.wait()
    } catch let failure as Failure {
      throw failure
    } catch {
      throw Failure(description: "POST \(path): \(error)")
    }
  }

  func shutdown() {
    try? group.syncShutdownGracefully()
  }
}

/// Completes `status` with the response's status code once the whole response has arrived,
/// or fails it if the connection closes first.
private final class StatusHandler: ChannelInboundHandler {
  typealias InboundIn = HTTPClientResponsePart

  private let status: EventLoopPromise<Int>
  private var code: Int?

  init(status: EventLoopPromise<Int>) {
    self.status = status
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let head): code = Int(head.status.code)
    case .body: break
    case .end:
      if let code { status.succeed(code) }
    }
  }

  func channelInactive(context: ChannelHandlerContext) {
    status.fail(HTTPPoster.Failure(description: "connection closed before a response"))
    context.fireChannelInactive()
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    status.fail(error)
    context.close(promise: nil)
  }
}
