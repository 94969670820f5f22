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
