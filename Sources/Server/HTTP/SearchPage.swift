import Hummingbird
import Store

/// `GET /`: the search page. Not built yet: it answers 501 with a clear message rather than a half page.
struct SearchPage {
  let store: CollectionStore

  func register(on routes: RouteTable) {
    routes.add("/", .get, name: "Page") { _, _ in
      throw HTTPProblem(.notImplemented, "the search page is not built yet; use POST /v1/collections/{name}/search", code: "unimplemented")
    }
  }
}
