/// What Chorus needs from a JPEG's marker segments before decoding: the EXIF orientation (1–8, 1 when absent).
/// Every read is bounds-checked: the bytes come from clients and fuzzers.
enum JPEGMarkers {
  static func exifOrientation(_ bytes: UnsafeRawBufferPointer) -> Int {
    var offset = 2  // after SOI
    while offset + 4 <= bytes.count {
      guard bytes[offset] == 0xFF else { return 1 }
      let marker = bytes[offset + 1]
      if marker == 0xFF { offset += 1; continue }  // fill byte
      if marker == 0xD9 || marker == 0xDA { return 1 }  // end of image, start of scan: no EXIF before the data
      let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
      guard length >= 2, offset + 2 + length <= bytes.count else { return 1 }
      if marker == 0xE1, let orientation = orientation(inAPP1: UnsafeRawBufferPointer(rebasing: bytes[(offset + 4)..<(offset + 2 + length)])) {
        return orientation
      }
      offset += 2 + length
    }
    return 1
  }

  /// The orientation tag (0x0112) of IFD0 in an APP1 "Exif" payload.
  private static func orientation(inAPP1 payload: UnsafeRawBufferPointer) -> Int? {
    let header: [UInt8] = [0x45, 0x78, 0x69, 0x66, 0, 0]  // "Exif\0\0"
    guard payload.count >= 14, Array(payload[0..<6]) == header else { return nil }
    let tiff = UnsafeRawBufferPointer(rebasing: payload[6...])
    let littleEndian: Bool
    switch (tiff[0], tiff[1]) {
    case (0x49, 0x49): littleEndian = true
    case (0x4D, 0x4D): littleEndian = false
    default: return nil
    }
    func u16(_ at: Int) -> Int? {
      guard at >= 0, at + 2 <= tiff.count else { return nil }
      return littleEndian ? Int(tiff[at]) | Int(tiff[at + 1]) << 8 : Int(tiff[at]) << 8 | Int(tiff[at + 1])
    }
    func u32(_ at: Int) -> Int? {
      guard let a = u16(at), let b = u16(at + 2) else { return nil }
      return littleEndian ? a | b << 16 : a << 16 | b
    }
    guard u16(2) == 42, let ifd = u32(4), let entries = u16(ifd) else { return nil }
    for index in 0..<entries {
      let entry = ifd + 2 + index * 12
      guard let tag = u16(entry) else { return nil }
      if tag == 0x0112 {
        guard u16(entry + 2) == 3, let value = u16(entry + 8), (1...8).contains(value) else { return nil }
        return value
      }
    }
    return nil
  }
}
