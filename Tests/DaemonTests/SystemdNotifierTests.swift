import Foundation
import XCTest

@testable import Daemon

final class SystemdNotifierTests: XCTestCase {
  func testReadyDatagramReachesNotifySocket() throws {
    let path = NSTemporaryDirectory() + "notify-\(UUID().uuidString.prefix(8)).sock"
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
    defer { close(fd); unlink(path) }
    let bound = withUnixSocketAddress(path) { bind(fd, $0, $1) }
    XCTAssertEqual(bound, 0)

    let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"])
    XCTAssertEqual(notifier.watchdogInterval, .seconds(1))
    notifier.ready(status: "serving")
    var buffer = [UInt8](repeating: 0, count: 512)
    let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
    XCTAssertGreaterThan(count, 0)
    let message = String(decoding: buffer[..<max(count, 0)], as: UTF8.self)
    XCTAssertTrue(message.hasPrefix("READY=1\nSTATUS=serving\nMAINPID="), message)
  }

  func testWithoutNotifySocketNothingIsAsked() {
    let notifier = SystemdNotifier(environment: ["WATCHDOG_USEC": "2000000"])
    XCTAssertNil(notifier.watchdogInterval)
    notifier.ready(status: "ignored")  // must not crash or block
  }

  func testWatchdogForAnotherPidIsIgnored() {
    let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"])
    XCTAssertNil(notifier.watchdogInterval)
  }
}
