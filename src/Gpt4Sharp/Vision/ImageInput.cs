using SkiaSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Vision;

/// <summary>How images become model input: square side, normalisation and the limits that reject "huge" files.</summary>
public sealed record ImageOptions
{
    /// <summary>Side of the square tensor the encoder sees, in pixels.</summary>
    public int Size { get; init; } = 48;
    /// <summary>Per-channel RGB mean and standard deviation (CLIP's, Radford et al. 2021).</summary>
    public float[] Mean { get; init; } = [0.48145466f, 0.4578275f, 0.40821073f];
    public float[] Std { get; init; } = [0.26862954f, 0.26130258f, 0.27577711f];
    /// <summary>Files larger than this are refused before decoding.</summary>
    public long MaxFileBytes { get; init; } = 32L << 20;
    /// <summary>Images with more pixels than this are refused before their pixels are decoded (decompression bombs).</summary>
    public long MaxPixels { get; init; } = 40_000_000;

    public ImageOptions Validate()
    {
        if (Size < 4 || Size > 1024) throw new UserError($"Image size {Size} is out of range; choose a side between 4 and 1024 pixels.");
        if (Mean.Length != 3 || Std.Length != 3 || Std.Any(s => s <= 0)) throw new UserError("Image mean and std need three values each, with every std positive.");
        return this;
    }
}

/// <summary>
/// Images in: decodes PNG, JPEG and WebP with SkiaSharp, scales the shorter side to
/// <see cref="ImageOptions.Size"/>, centre-crops a square and normalises to a float tensor
/// [3, S, S]. Every unreadable input becomes one <see cref="UserError"/> sentence.
/// </summary>
public static class ImageInput
{
    static readonly HashSet<SKEncodedImageFormat> Supported = [SKEncodedImageFormat.Png, SKEncodedImageFormat.Jpeg, SKEncodedImageFormat.Webp];

    /// <summary>Reads and prepares an image file.</summary>
    public static Tensor Load(string path, ImageOptions options)
    {
        using var bitmap = Decode(path, options);
        return FromBitmap(bitmap, options);
    }

    /// <summary>Decodes an image file into RGBA pixels, checking size limits first.</summary>
    public static SKBitmap Decode(string path, ImageOptions options)
    {
        if (!File.Exists(path)) throw new UserError($"Image {path} does not exist; give the path of a PNG, JPEG or WebP file.");
        var length = new FileInfo(path).Length;
        if (length == 0) throw new UserError($"Image {path} is empty (0 bytes); give a PNG, JPEG or WebP file with content.");
        if (length > options.MaxFileBytes)
            throw new UserError($"Image {path} is {length / (1 << 20)} MiB, over the {options.MaxFileBytes / (1 << 20)} MiB limit; shrink it first.");
        return Decode(File.ReadAllBytes(path), path, options);
    }

    /// <summary>Decodes encoded image bytes; <paramref name="name"/> names the image in errors.</summary>
    public static SKBitmap Decode(byte[] data, string name, ImageOptions options)
    {
        if (data.Length == 0) throw new UserError($"Image {name} is empty (0 bytes); give a PNG, JPEG or WebP file with content.");
        if (data.Length > options.MaxFileBytes)
            throw new UserError($"Image {name} is {data.Length / (1 << 20)} MiB, over the {options.MaxFileBytes / (1 << 20)} MiB limit; shrink it first.");
        using var skData = SKData.CreateCopy(data);
        using var codec = SKCodec.Create(skData)
            ?? throw new UserError($"Image {name} is not a picture SkiaSharp can read (unknown or corrupt header); give a PNG, JPEG or WebP file.");
        if (!Supported.Contains(codec.EncodedFormat))
            throw new UserError($"Image {name} is {codec.EncodedFormat}, which is not supported; convert it to PNG, JPEG or WebP.");
        var (w, h) = (codec.Info.Width, codec.Info.Height);
        if (w <= 0 || h <= 0) throw new UserError($"Image {name} has no pixels ({w}x{h}); give a non-empty picture.");
        if ((long)w * h > options.MaxPixels)
            throw new UserError($"Image {name} is {w}x{h} pixels, over the {options.MaxPixels:N0}-pixel limit; downscale it first.");
        var info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result != SKCodecResult.Success)
        {
            bitmap.Dispose();
            throw new UserError($"Image {name} is corrupt or truncated ({result}); re-export it as PNG, JPEG or WebP.");
        }
        return bitmap;
    }

    /// <summary>Scales, centre-crops and normalises decoded pixels to [3, S, S] (transparent pixels composited on white, as the curriculum draws).</summary>
    public static Tensor FromBitmap(SKBitmap bitmap, ImageOptions options)
    {
        int s = options.Size;
        double scale = (double)s / Math.Min(bitmap.Width, bitmap.Height);
        int w = Math.Max(s, (int)Math.Round(bitmap.Width * scale)), h = Math.Max(s, (int)Math.Round(bitmap.Height * scale));
        // Opaque after the white fill, so premultiplied bytes equal straight RGB.
        using var square = new SKBitmap(new SKImageInfo(s, s, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(square))
        using (var image = SKImage.FromBitmap(bitmap))
        {
            canvas.Clear(SKColors.White);
            var dest = SKRect.Create((s - w) / 2f, (s - h) / 2f, w, h);
            canvas.DrawImage(image, dest, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        }
        var bytes = square.Bytes;
        var values = new float[3 * s * s];
        for (int i = 0; i < s * s; i++)
            for (int c = 0; c < 3; c++)
                values[c * s * s + i] = (bytes[4 * i + c] / 255f - options.Mean[c]) / options.Std[c];
        return tensor(values, [3, s, s]);
    }
}
