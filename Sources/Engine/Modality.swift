/// The kinds of content a space can embed.
public enum Modality: String, Sendable, CaseIterable, Codable {
  case text, image, audio
}
