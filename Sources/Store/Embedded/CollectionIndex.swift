import Dispatch
import Foundation
import Synchronization
import Tensor

/// When and how collections use HNSW.
public struct IndexSettings: Sendable, Equatable {
  /// Below this many items a collection is searched exactly (one matrix-vector product beats a graph walk there).
  public var hnswThreshold = 20_000
  /// Items not yet in a graph are searched exactly beside the graphs; this many start a background build.
  public var freshLimit = 2048
  public var hnsw = HNSWParameters()
  /// Threads a background build inserts with.
  public var buildThreads = max(1, ProcessInfo.processInfo.activeProcessorCount)

  public init(hnswThreshold: Int = 20_000, freshLimit: Int = 2048, hnsw: HNSWParameters = HNSWParameters()) {
    self.hnswThreshold = hnswThreshold
    self.freshLimit = freshLimit
    self.hnsw = hnsw
  }
}

/// How far a collection's HNSW index has got (tests, stats).
public struct IndexStatus: Sendable, Equatable {
  public var segments: Int
  /// Live items the graphs answer for.
  public var inGraphs: Int
  /// Items searched exactly until a build takes them in.
  public var fresh: Int
  public var building: Bool
}

/// A collection's search structures. `all` holds every item (exact search; what builds read from);
/// HNSW segments are immutable graphs built in the background; `fresh` holds the items no segment covers yet.
/// A search asks every segment and scans `fresh`, so it never waits for a build. A write marks the item's old
/// label dead in its segment at once (removals take effect immediately) and puts the new version in `fresh`.
/// One background job runs at a time per store: load and check the files, build a segment from `fresh`, or merge
/// two segments (the newest with the one before once it is an eighth of its size, the smaller inserted into a
/// copy of the larger, so a collection holds about log₈(n / freshLimit) segments), saving each result before it replaces what it was made from.
final class CollectionIndex: Sendable {
  /// A graph and, per label, what search needs of the item.
  final class Segment: Sendable {
    let name: String
    let graph: HNSWGraph
    let items: [IndexedItem]
    let labelOf: [String: Int]

    init(name: String, graph: HNSWGraph, items: [IndexedItem]) {
      self.name = name
      self.graph = graph
      self.items = items
      labelOf = Dictionary(items.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
    }
  }

  private struct Live {
    var segment: Segment
    var dead: [Bool]
    var deadCount = 0
    /// Labels that died after the graph was published: the graph still returns them, so searches ask for more.
    /// (Labels dead before publication are marked deleted inside the graph, which then skips them.)
    var unmarkedDead = 0
    var entry: SegmentFiles.Manifest.Entry?
    var liveCount: Int { segment.items.count - deadCount }

    init(segment: Segment, dead: [Bool], entry: SegmentFiles.Manifest.Entry?) {
      self.segment = segment
      self.dead = dead
      self.entry = entry
      deadCount = dead.reduce(0) { $0 + ($1 ? 1 : 0) }
    }

    /// Before publication: dead labels go into the graph's own deleted marks.
    func markDeadInGraph() {
      for (label, isDead) in dead.enumerated() where isDead { segment.graph.markDeleted(label) }
    }
  }

  private enum Job {
    case load
    case build
    case merge(first: Int, count: Int)
  }

  private struct State {
    var segments: [Live] = []
    var loaded = false
    var running = false
    var failed = false
    var closed = false
    /// Ids written while a job runs: their labels in what the job produces are dead on arrival.
    var touched: Set<String> = []
    var nextName = 0
  }

  let dimension: Int
  private let all: ExactIndex
  private let fresh: ExactIndex
  private let state = Mutex(State())
  private let files: SegmentFiles
  private let settings: IndexSettings
  private let queue: DispatchQueue

  init(dimension: Int, items: [StoredItem], files: SegmentFiles, settings: IndexSettings, queue: DispatchQueue) {
    self.dimension = dimension
    self.files = files
    self.settings = settings
    self.queue = queue
    all = ExactIndex(dimension: dimension)
    fresh = ExactIndex(dimension: dimension)
    let rows = items.map { (IndexedItem(id: $0.id, modality: $0.modality, metadata: $0.metadata), l2Normalized($0.vector)) }
    all.upsert(rows)
    fresh.upsert(rows)
    schedule()
  }

  // MARK: Writes and search

  func upsert(_ items: [StoredItem]) {
    let rows = items.map { (IndexedItem(id: $0.id, modality: $0.modality, metadata: $0.metadata), l2Normalized($0.vector)) }
    state.withLock { state in
      all.upsert(rows)
      fresh.upsert(rows)
      Self.retire(rows.map(\.0.id), in: &state)
    }
    schedule()
  }

  func remove(_ ids: Set<String>) {
    state.withLock { state in
      all.remove(ids)
      fresh.remove(ids)
      Self.retire(ids, in: &state)
    }
    schedule()
  }

  /// Old versions of these items die in every segment; a running job will treat them the same way.
  private static func retire(_ ids: some Sequence<String>, in state: inout State) {
    for id in ids {
      state.touched.insert(id)
      for s in state.segments.indices {
        if let label = state.segments[s].segment.labelOf[id], !state.segments[s].dead[label] {
          state.segments[s].dead[label] = true
          state.segments[s].deadCount += 1
          state.segments[s].unmarkedDead += 1
        }
      }
    }
  }

  /// `efSearch` overrides the configured candidate count for this search (benchmarks sweep it).
  func search(_ query: [Float], k: Int, filter: SearchFilter, efSearch: Int? = nil) -> [(id: String, score: Float)] {
    guard k > 0 else { return [] }
    let q = l2Normalized(query)
    // Filters are applied to what the graphs return, so ask for more when filtering; too few survivors → exact.
    // Asking hnswlib for more than its ef widens its search to that many candidates.
    let want = max(filter.isEmpty ? k : max(8 * k, settings.hnsw.efSearch), efSearch ?? 0)
    // The graph walks run outside the lock; if a job swapped segments meanwhile, walk the new ones (rare).
    for _ in 0..<3 {
      let segments = state.withLock { $0.segments.map { ($0.segment, $0.unmarkedDead) } }
      if segments.isEmpty { break }
      // Oversampling for labels that died since publication is capped; if too few survive, search exactly.
      let found = segments.map { segment, unmarked in segment.graph.search(q, k: min(want + min(unmarked, 4 * want), segment.items.count)) }
      let hits = state.withLock { state -> [(id: String, score: Float)]? in
        guard state.segments.count == segments.count, zip(state.segments, segments).allSatisfy({ $0.segment === $1.0 }) else { return nil }
        var best = TopK<Void>(k: k)
        for (live, labels) in zip(state.segments, found) {
          for (label, score) in labels where !live.dead[label] && best.admits(score) {
            let item = live.segment.items[label]
            if filter.isEmpty || filter.accepts(item) { best.insert(score: score, key: item.id, payload: ()) }
          }
        }
        for hit in fresh.search(q, k: k, filter: filter) { best.insert(score: hit.score, key: hit.id, payload: ()) }
        return best.sorted().map { ($0.key, $0.score) }
      }
      guard let hits else { continue }
      if hits.count < k && hits.count < all.count { break }
      return hits
    }
    return all.search(query, k: k, filter: filter)
  }

  var status: IndexStatus {
    state.withLock { state in
      IndexStatus(
        segments: state.segments.count, inGraphs: state.segments.reduce(0) { $0 + $1.liveCount }, fresh: fresh.count, building: state.running)
    }
  }

  /// Stops background work for a deleted collection and removes its files (after any job already running).
  func close() {
    state.withLock { $0.closed = true }
    queue.async { [files] in files.removeAll() }
  }

  // MARK: Background jobs

  private func schedule() {
    let job = state.withLock { state -> Job? in
      guard !state.running, !state.closed, !state.failed, let job = nextJob(state) else { return nil }
      state.running = true
      state.touched = []
      return job
    }
    guard let job else { return }
    queue.async { [self] in
      run(job)
      state.withLock { $0.running = false }
      schedule()
    }
  }

  private func nextJob(_ state: State) -> Job? {
    guard state.loaded else { return .load }
    let segments = state.segments
    let freshCount = fresh.count
    if segments.isEmpty ? freshCount > 0 && all.count >= settings.hnswThreshold : freshCount >= settings.freshLimit { return .build }
    if segments.count >= 2, segments[segments.count - 1].liveCount * 8 >= segments[segments.count - 2].liveCount {
      return .merge(first: segments.count - 2, count: 2)
    }
    if let worn = segments.firstIndex(where: { $0.deadCount * 10 > $0.segment.items.count * 3 }) { return .merge(first: worn, count: 1) }
    return nil
  }

  private func run(_ job: Job) {
    if state.withLock({ $0.closed }) { return }
    do {
      switch job {
      case .load: try load()
      case .build: try build()
      case .merge(let first, let count): try merge(first: first, count: count)
      }
    } catch {
      // Searches stay correct without graphs (exact over what they would cover); try again after a restart.
      state.withLock { state in
        state.failed = true
        state.loaded = true
      }
      FileHandle.standardError.write(Data("chorusd: HNSW index of \(files.directory): \(error); searching exactly\n".utf8))
    }
  }

  /// Reads the saved segments; a label stays alive only if the store still holds its id with the very same vector
  /// (and no earlier segment claimed it), so files older than the store cost recall work, never wrong answers.
  private func load() throws {
    let loaded: [(entry: SegmentFiles.Manifest.Entry, graph: HNSWGraph, ids: [String])]
    do {
      loaded = try files.load()
    } catch {
      files.removeAll()
      state.withLock { $0.loaded = true }
      return
    }
    var claimed = Set<String>()
    var segments: [Live] = []
    for (entry, graph, ids) in loaded {
      var dead = [Bool](repeating: true, count: ids.count)
      var items: [IndexedItem] = []
      items.reserveCapacity(ids.count)
      for (label, id) in ids.enumerated() {
        let current = all.item(of: id)
        items.append(current ?? IndexedItem(id: id, modality: "", metadata: [:]))
        guard current != nil, !claimed.contains(id), graph.withVector(label, { $0.map { all.holds(id, vector: $0) } ?? false }) else { continue }
        dead[label] = false
        claimed.insert(id)
      }
      let live = Live(segment: Segment(name: entry.name, graph: graph, items: items), dead: dead, entry: entry)
      live.markDeadInGraph()
      segments.append(live)
    }
    install { state in
      state.nextName = (loaded.compactMap { Int($0.entry.name.dropFirst(4)) }.max() ?? -1) + 1
      for s in segments.indices { Self.kill(state.touched, in: &segments[s]) }
      fresh.remove(claimed.subtracting(state.touched))
      state.segments = segments
      state.loaded = true
    }
  }

  /// A new segment from everything in `fresh` now.
  private func build() throws {
    let (items, vectors) = fresh.snapshot()
    let name = state.withLock { state in
      defer { state.nextName += 1 }
      return String(format: "seg-%06d", state.nextName)
    }
    let graph = try HNSWGraph.build(vectors: vectors, dimension: dimension, parameters: settings.hnsw, threads: settings.buildThreads)
    let entry = try? files.save(name: name, graph: graph, ids: items.map(\.id))
    var segment = Live(segment: Segment(name: name, graph: graph, items: items), dead: [Bool](repeating: false, count: items.count), entry: entry)
    install { state in
      Self.kill(state.touched, in: &segment)
      let touched = state.touched
      fresh.remove(items.lazy.map(\.id).filter { !touched.contains($0) })
      state.segments.append(segment)
    }
  }

  /// One segment from `count` neighbouring segments. Two: the smaller one's live items are added to a private copy
  /// of the larger graph (read back from its file), so a merge costs the smaller side's insertions; the larger
  /// side's dead labels stay in the graph as routing nodes, marked deleted. One (a worn segment): rebuilt from its
  /// live items alone.
  private func merge(first: Int, count: Int) throws {
    let sources = state.withLock { Array($0.segments[first..<first + count]) }
    var items: [IndexedItem] = []
    var vectors: [Float] = []
    var dead: [Bool] = []
    var graph: HNSWGraph?
    var rest = sources
    // The larger side is the base (a bulk load's newest segment is often the largest), so a merge inserts the
    // smaller side's items only.
    if count == 2 {
      let baseIndex = sources[0].segment.items.count >= sources[1].segment.items.count ? 0 : 1
      let base = sources[baseIndex], other = sources[1 - baseIndex]
      if let entry = base.entry,
        let copy = try? HNSWGraph.load(path: files.graphPath(entry.name), dimension: dimension, parameters: settings.hnsw, extraCapacity: other.liveCount),
        copy.count == base.segment.items.count
      {
        graph = copy
        items = base.segment.items
        dead = base.dead
        rest = [other]
      }
    }
    for source in rest {
      for (label, item) in source.segment.items.enumerated() where !source.dead[label] {
        source.segment.graph.withVector(label) { vector in
          guard let vector else { return }
          items.append(item)
          vectors.append(contentsOf: vector)
          dead.append(false)
        }
      }
    }
    let name = state.withLock { state in
      defer { state.nextName += 1 }
      return String(format: "seg-%06d", state.nextName)
    }
    let built: HNSWGraph
    if let graph {
      try graph.add(vectors: vectors, firstLabel: items.count - vectors.count / dimension, threads: settings.buildThreads)
      built = graph
    } else {
      built = try HNSWGraph.build(vectors: vectors, dimension: dimension, parameters: settings.hnsw, threads: settings.buildThreads)
    }
    let segment = Segment(name: name, graph: built, items: items)
    // Dead labels of the base are marked before saving, so the file says what the graph answers.
    var merged = Live(segment: segment, dead: dead, entry: nil)
    merged.markDeadInGraph()
    merged.entry = try? files.save(name: name, graph: built, ids: items.map(\.id))
    install { state in
      Self.kill(state.touched, in: &merged)
      // Only this job changes the list of segments, so the sources are still where they were.
      state.segments.replaceSubrange(first..<first + count, with: [merged])
    }
  }

  /// Before publication: these ids were written while the job ran, so their labels die (in the graph too).
  private static func kill(_ ids: Set<String>, in segment: inout Live) {
    for id in ids {
      if let label = segment.segment.labelOf[id], !segment.dead[label] {
        segment.dead[label] = true
        segment.deadCount += 1
        segment.segment.graph.markDeleted(label)
      }
    }
  }

  /// Applies a job's result and then records the new list of segments on disk (when every segment was saved).
  private func install(_ body: (inout State) -> Void) {
    let entries = state.withLock { state -> [SegmentFiles.Manifest.Entry]? in
      guard !state.closed else { return nil }
      body(&state)
      let entries = state.segments.compactMap(\.entry)
      return entries.count == state.segments.count ? entries : nil
    }
    if let entries { try? files.commit(entries) }
  }
}
