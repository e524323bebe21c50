using Microsoft.Extensions.Options;

namespace Stackit.EmbeddingWorker.Management;

/// <summary>Checks <see cref="ManagementOptions"/> (its attributes and <c>Validate</c>): generated at build, no reflection at start.</summary>
[OptionsValidator]
internal sealed partial class ManagementOptionsValidator : IValidateOptions<ManagementOptions>;
