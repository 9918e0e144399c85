fn main() {
    let (w, h) = (16u16, 16u16);
    let mut data = Vec::new();
    for _ in 0..(w as usize * h as usize) {
        data.extend([0u8, 255, 255, 255]);
    }
    let mut jpg = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut jpg, 100);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_1_1);
    enc.encode(&data, w, h, jpeg_encoder::ColorType::Cmyk)
        .unwrap();
    std::fs::write("/tmp/cmyk.jpg", &jpg).unwrap();
    let img = image::load_from_memory(&jpg).unwrap();
    println!("{:?} {:?}", img.color(), &img.as_bytes()[..12]);
    let args: Vec<String> = std::env::args().collect();
    if args.len() > 1 {
        use image::ImageDecoder;
        let bytes = std::fs::read(&args[1]).unwrap();
        let mut d =
            image::codecs::tiff::TiffDecoder::new(std::io::Cursor::new(&bytes[..])).unwrap();
        println!(
            "image icc before limits: {:?}",
            d.icc_profile().map(|o| o.map(|v| v.len()))
        );
        let mut l = image::Limits::no_limits();
        l.max_alloc = Some(1 << 30);
        d.set_limits(l).unwrap();
        println!(
            "image icc after limits: {:?}",
            d.icc_profile().map(|o| o.map(|v| v.len()))
        );
        let t = std::fs::File::open(&args[1]).unwrap();
        let mut dec = tiff::decoder::Decoder::new(std::io::BufReader::new(t)).unwrap();
        for tag in [
            tiff::tags::Tag::IccProfile,
            tiff::tags::Tag::Unknown(700),
            tiff::tags::Tag::Artist,
            tiff::tags::Tag::ExtraSamples,
        ] {
            println!(
                "{tag:?}: {:?}",
                dec.find_tag(tag)
                    .map(|v| v.map(|v| format!("{v:?}").chars().take(80).collect::<String>()))
            );
        }
    }
}
#[allow(dead_code)]
fn zune() {}
