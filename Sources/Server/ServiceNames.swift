import ChorusAPI

/// The fully qualified names of the services chorusd serves (health answers for each).
public enum ServiceNames {
  public static let all: [String] = [
    Chorus_V1_EmbeddingService.descriptor.fullyQualifiedService,
    Chorus_V1_CollectionService.descriptor.fullyQualifiedService,
    Chorus_V1_SystemService.descriptor.fullyQualifiedService,
    Grpc_Health_V1_Health.descriptor.fullyQualifiedService,
  ]
}
