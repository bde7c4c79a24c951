import Foundation
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle

/// How `sbie serve` runs.
public struct FrontDoorConfiguration: Sendable {
    /// Address to listen on; loopback unless told otherwise.
    public var host = "127.0.0.1"
    /// TCP port; 0 picks a free one (printed when listening).
    public var port = 8080
    /// The authenticator login's connection string (a member of `sbie_authenticator`).
    public var conninfo: String
    /// The authenticator login's connection string on a hot standby: anonymous reads go there
    /// (`DataLayer`, README "Reads on a hot standby"); nil: every read on the primary.
    public var readConninfo: String?
    /// Database connections kept at most (per server: as many again on the standby).
    public var poolSize = 8
    /// Web sessions last this long, in seconds.
    public var sessionLifetime: TimeInterval = 12 * 3600
    /// Adds `Secure` to the session cookie (set when serving behind TLS).
    public var secureCookies = false
    /// Not ready when a due command has waited longer than this (the daemon is down or blocked).
    public var readyMaxQueueAge: Duration = .seconds(30)
    /// Comment lines on idle event streams at this interval.
    public var heartbeat: Duration = .seconds(15)
    /// The daemon running in this process (`serve --with-daemon`): `/health/ready` reads its
    /// readiness; nil: the daemon runs elsewhere and readiness reads `daemon_liveness()`.
    public var daemonStatus: DaemonStatus?
    /// The newest migration this build knows (readiness requires it applied); nil: not checked.
    public var expectedMigration: Int?

    public init(conninfo: String) { self.conninfo = conninfo }
}

/// The HTTP front door, a swift-service-lifecycle `Service`: Hummingbird serving the `/v1`
/// API, health and metrics over a pool of authenticator connections. On graceful shutdown
/// it stops accepting, ends event streams and finishes the requests in flight.
public struct FrontDoorService: Service {
    let configuration: FrontDoorConfiguration
    let metrics: FrontDoorMetrics
    let logger: Logger
    let onListening: @Sendable (String, Int) async -> Void

    /// - Parameter onListening: called with the host and the bound port once the server accepts.
    public init(configuration: FrontDoorConfiguration, metrics: FrontDoorMetrics, logger: Logger,
                onListening: @escaping @Sendable (String, Int) async -> Void = { _, _ in }) {
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        let data = DataLayer(conninfo: configuration.conninfo, poolSize: configuration.poolSize,
                             standbyConninfo: configuration.readConninfo, logger: logger)
        let notifier = OutcomeNotifier()
        await notifier.start(conninfo: configuration.conninfo, logger: logger)
        let api = API(data: data, notifier: notifier, metrics: metrics, configuration: configuration, logger: logger)
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: MetricsMiddleware())
        if configuration.readConninfo != nil { router.add(middleware: StandbyHeadersMiddleware()) }
        api.register(on: router)
        Pages(data: data, notifier: notifier, configuration: configuration, logger: logger).register(on: router)
        let host = configuration.host
        let callback = onListening
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: configuration.port), serverName: "sbie"),
            onServerRunning: { channel in await callback(host, channel.localAddress?.port ?? 0) },
            logger: logger)
        do {
            try await app.run()
        } catch {
            await notifier.stop()
            await data.shutdown()
            throw error
        }
        await notifier.stop()
        await data.shutdown()
    }
}
