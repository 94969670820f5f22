import ChorusAPI
import Engine

extension Chorus_V1_Modality {
  init(_ modality: Modality) {
    switch modality {
    case .text: self = .text
    case .image: self = .image
    case .audio: self = .audio
    }
  }
}

extension Modality {
  /// nil for MODALITY_UNSPECIFIED ("tell by content").
  init?(_ modality: Chorus_V1_Modality) {
    switch modality {
    case .text: self = .text
    case .image: self = .image
    case .audio: self = .audio
    case .unspecified, .UNRECOGNIZED: return nil
    }
  }
}
