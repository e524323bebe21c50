using System.Text.RegularExpressions;

namespace Stackit.EmbeddingWorker.Messaging;

/// <summary>
/// Azure's rule for queue names, in one place: 3 to 63 lower-case letters, digits and single hyphens, starting and
/// ending with a letter or digit. A name the worker adds suffixes to (<c>-backfill</c>, <c>-poison</c>) must leave
/// room for them.
/// </summary>
internal static partial class QueueNames
{
    public const int MaxLength = 63;

    /// <summary>True when <paramref name="name"/> is valid with <paramref name="reserved"/> characters left for suffixes.</summary>
    public static bool IsValid(string name, int reserved) =>
        name.Length >= 3 && name.Length <= MaxLength - reserved && Shape().IsMatch(name);

    [GeneratedRegex("^[a-z0-9](?!.*--)[a-z0-9-]*[a-z0-9]$")]
    private static partial Regex Shape();
}
