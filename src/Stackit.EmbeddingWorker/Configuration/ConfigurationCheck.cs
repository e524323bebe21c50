using Microsoft.Extensions.Options;

namespace Stackit.EmbeddingWorker.Configuration;

/// <summary>
/// Every configuration error at once, before anything starts: printed one a line, and the process ends with
/// <see cref="ExitCode"/> (a code of its own, so an orchestrator tells a bad setting from a crash).
/// </summary>
public static class ConfigurationCheck
{
    /// <summary>EX_CONFIG of sysexits.h: "something was found in an unconfigured or misconfigured state".</summary>
    public const int ExitCode = 78;

    public static IReadOnlyList<string> Failures(OptionsValidationException exception) =>
        exception.Failures.Select(f => Plain(f, exception.OptionsType, null)).Distinct(StringComparer.Ordinal).ToList();

    public static void Print(IReadOnlyList<string> failures, TextWriter error)
    {
        error.WriteLine($"The configuration is invalid ({failures.Count} {(failures.Count == 1 ? "error" : "errors")}):");
        foreach (var failure in failures)
        {
            error.WriteLine("  " + failure);
        }
    }

    /// <summary>
    /// Whether <paramref name="exception"/> is the configuration binder's refusal of a value it cannot convert; its
    /// message names the key and the value ("Failed to convert configuration value 'abc' at 'Queue:…'").
    /// </summary>
    internal static bool IsBindingFailure(InvalidOperationException exception) =>
        exception.InnerException is FormatException or ArgumentException or OverflowException or InvalidOperationException;

    /// <summary>
    /// A generated validator reports "Member: The field QueueOptions.Member must …"; an operator knows the setting as
    /// "Queue:Member". The member prefix goes and the type's name becomes the section's.
    /// </summary>
    internal static string Plain(string failure, Type options, string? section)
    {
        var colon = failure.IndexOf(": ", StringComparison.Ordinal);
        if (colon > 0 && !failure.AsSpan(0, colon).ContainsAny(" :,."))
        {
            failure = failure[(colon + 2)..];
        }
        return section is null ? failure : failure.Replace(options.Name + ".", section + ":", StringComparison.Ordinal);
    }
}
