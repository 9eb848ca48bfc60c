using Gpt4Sharp.Tests.Support;
using Gpt4Sharp.Vision;
using SkiaSharp;

namespace Gpt4Sharp.Tests.Vision;

public class ImageInputTests
{
    static readonly ImageOptions Options = new() { Size = 16 };

    /// <summary>A 40x20 picture: left half red, right half blue, in the given format.</summary>
    static string Write(string dir, SKEncodedImageFormat format, string name)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(40, 20, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(new SKColor(220, 40, 40));
            using var blue = new SKPaint { Color = new SKColor(40, 80, 220) };
            canvas.DrawRect(20, 0, 20, 20, blue);
        }
        using var data = bitmap.Encode(format, 100);
        var path = Path.Combine(dir, name);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }

    static float Normalised(byte value, int channel) => (value / 255f - Options.Mean[channel]) / Options.Std[channel];

    [Theory]
    [InlineData(SKEncodedImageFormat.Png, "a.png")]
    [InlineData(SKEncodedImageFormat.Jpeg, "a.jpg")]
    [InlineData(SKEncodedImageFormat.Webp, "a.webp")]
    public void DecodesResizesCropsAndNormalises(SKEncodedImageFormat format, string name)
    {
        var path = Write(RepoPaths.NewTempDir(), format, name);
        using var pixels = ImageInput.Load(path, Options);
        Assert.Equal([3L, 16, 16], pixels.shape);
        // The 40x20 picture scales to 32x16 and the centre 16 columns keep the red/blue border in the middle.
        Assert.Equal(Normalised(220, 0), pixels[0, 8, 1].item<float>(), 0.15f);
        Assert.Equal(Normalised(220, 2), pixels[2, 8, 14].item<float>(), 0.15f);
        Assert.Equal(Normalised(40, 2), pixels[2, 8, 1].item<float>(), 0.15f);
    }

    [Fact]
    public void EmptyFileIsRefused()
    {
        var path = Path.Combine(RepoPaths.NewTempDir(), "empty.png");
        File.WriteAllBytes(path, []);
        Assert.Contains("is empty", Assert.Throws<UserError>(() => ImageInput.Load(path, Options)).Message);
    }

    [Fact]
    public void CorruptAndTruncatedFilesAreRefused()
    {
        var dir = RepoPaths.NewTempDir();
        var garbage = Path.Combine(dir, "garbage.png");
        File.WriteAllBytes(garbage, [.. Enumerable.Range(0, 300).Select(i => (byte)(i * 7))]);
        Assert.Contains("not a picture", Assert.Throws<UserError>(() => ImageInput.Load(garbage, Options)).Message);

        var whole = File.ReadAllBytes(Write(dir, SKEncodedImageFormat.Png, "whole.png"));
        var cut = Path.Combine(dir, "cut.png");
        File.WriteAllBytes(cut, whole[..(whole.Length / 2)]);
        Assert.Contains("corrupt", Assert.Throws<UserError>(() => ImageInput.Load(cut, Options)).Message);
    }

    [Fact]
    public void HugeFilesAndPicturesAreRefusedBeforeDecoding()
    {
        var path = Write(RepoPaths.NewTempDir(), SKEncodedImageFormat.Png, "big.png");
        Assert.Contains("-pixel limit", Assert.Throws<UserError>(() => ImageInput.Load(path, Options with { MaxPixels = 799 })).Message);
        Assert.Contains("MiB limit", Assert.Throws<UserError>(() => ImageInput.Load(path, Options with { MaxFileBytes = 10 })).Message);
    }

    [Fact]
    public void UnsupportedFormatIsNamed()
    {
        // A 1x1 24-bit BMP: SkiaSharp reads it, but only PNG, JPEG and WebP are accepted.
        byte[] bmp = [.. "BM"u8, 58, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 24, 0, 0, 0, 0, 0, 4, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 0];
        var path = Path.Combine(RepoPaths.NewTempDir(), "x.bmp");
        File.WriteAllBytes(path, bmp);
        var message = Assert.Throws<UserError>(() => ImageInput.Load(path, Options)).Message;
        Assert.Contains("Bmp", message);
        Assert.Contains("not supported", message);
    }

    [Fact]
    public void MissingFileIsNamed() =>
        Assert.Contains("does not exist", Assert.Throws<UserError>(() => ImageInput.Load("/no/such/picture.png", Options)).Message);
}
