import ChorusEnvironment
import XCTest

final class DefaultPathsTests: XCTestCase {
  func testSystemdDirectoriesWin() {
    let environment = ["RUNTIME_DIRECTORY": "/run/chorus", "STATE_DIRECTORY": "/var/lib/chorus:/var/lib/other", "XDG_RUNTIME_DIR": "/run/user/1000", "HOME": "/home/u"]
    XCTAssertEqual(DefaultPaths.socket(environment: environment), "/run/chorus/chorus.sock")
    XCTAssertEqual(DefaultPaths.dataDirectory(environment: environment), "/var/lib/chorus")
  }

  func testUserDefaults() {
    let environment = ["XDG_RUNTIME_DIR": "/run/user/1000", "HOME": "/home/u"]
    XCTAssertEqual(DefaultPaths.socket(environment: environment), "/run/user/1000/chorus/chorus.sock")
    XCTAssertEqual(DefaultPaths.dataDirectory(environment: environment), "/home/u/.local/share/chorus")
  }
}
