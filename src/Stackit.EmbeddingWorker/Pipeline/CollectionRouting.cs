using System.Text.RegularExpressions;

namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// Which collections a job may name: <see cref="Default"/> when it names none, else the default or one of
/// <see cref="Allowed"/>; jobs with images go to <see cref="Multimodal"/>. Built from the <c>Qdrant:*</c> settings.
/// </summary>
internal sealed partial record CollectionRouting(string Default, IReadOnlySet<string> Allowed, string? Multimodal)
{
    /// <summary>What a collection (or alias) name may hold, here and in the settings that name one.</summary>
    public const string NamePattern = "^[A-Za-z0-9_.-]{1,255}$";

    public static bool IsValidName(string name) => NameRegex().IsMatch(name);

    [GeneratedRegex(NamePattern)]
    private static partial Regex NameRegex();
}
