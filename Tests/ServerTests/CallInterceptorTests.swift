import Engine
import XCTest

@testable import Server

/// The pieces of the gRPC door that need no socket: `grpc-timeout` values, the credentials headers, and who the
/// access policy admits.
final class CallInterceptorTests: XCTestCase {
  func testGRPCTimeoutValues() {
    XCTAssertEqual(CallInterceptor.timeout("2S"), .seconds(2))
    XCTAssertEqual(CallInterceptor.timeout("1500m"), .milliseconds(1500))
    XCTAssertEqual(CallInterceptor.timeout("1u"), .microseconds(1))
    XCTAssertEqual(CallInterceptor.timeout("0n"), .zero)
    XCTAssertEqual(CallInterceptor.timeout("3M"), .seconds(180))
    XCTAssertEqual(CallInterceptor.timeout("1H"), .seconds(3600))
    for bad in ["", "S", "12", "-1S", "1s", "123456789S", "1.5S", "abcS"] {
      XCTAssertNil(CallInterceptor.timeout(bad), bad)
    }
  }

  func testCredentialsNeedAllThreeNumbers() {
    XCTAssertEqual(PeerCredentialHeaders.caller(uid: "1000", gid: "100", pid: "42"), Caller(uid: 1000, gid: 100, pid: 42))
    XCTAssertNil(PeerCredentialHeaders.caller(uid: "1000", gid: nil, pid: "42"))
    XCTAssertNil(PeerCredentialHeaders.caller(uid: "root", gid: "0", pid: "1"))
    XCTAssertNil(PeerCredentialHeaders.caller(uid: "-1", gid: "0", pid: "1"))
  }

  func testAccessPolicy() {
    let open = AccessPolicy()
    XCTAssertNil(open.refusal(of: nil), "no allow-list: the socket's permissions decide")
    let uids = AccessPolicy(allowedUIDs: [0, 1000])
    XCTAssertNil(uids.refusal(of: Caller(uid: 1000, gid: 1000, pid: 1)))
    XCTAssertEqual(uids.refusal(of: Caller(uid: 4242, gid: 4242, pid: 1)), "uid 4242 is not admitted by this daemon (allowed_uids / allowed_gids)")
    XCTAssertNotNil(uids.refusal(of: nil), "unknown credentials are refused once a list is set")
    let gids = AccessPolicy(allowedGIDs: [4242])
    XCTAssertNil(gids.refusal(of: Caller(uid: 4242, gid: 4242, pid: 1)), "the primary group counts")
    XCTAssertNotNil(gids.refusal(of: Caller(uid: 4243, gid: 4243, pid: 1)))
  }
}
