namespace Stackit.EmbeddingWorker.Tokens;

/// <summary>
/// Estimates from the UTF-8 length of each kind of character (<see cref="ScriptBytes"/>) at the ratios the model's
/// <see cref="TokenCalibration"/> has learned.
/// Subadditive (the estimate of a concatenation never exceeds the sum of its parts' estimates), which the
/// chunker relies on.
/// </summary>
internal sealed class CalibratedTokenEstimator(TokenCalibration calibration) : ITokenEstimator
{
    public int Estimate(ReadOnlySpan<char> text) => calibration.Estimate(ScriptBytes.Of(text));

    /// <summary>
    /// The calibration learns from whole requests; one chunk can be denser than the requests it learned from, and
    /// the margin that keeps requests under their limit does not cover that as well.
    /// </summary>
    public double Headroom => calibration.Margin;
}
