package uk.nhs.hee.tis.resilience.autoconfigure;

import java.util.List;
import java.util.stream.Collectors;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.bind.UnboundConfigurationPropertiesException;
import org.springframework.boot.context.properties.source.ConfigurationProperty;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;

/**
 * Explains a {@code tis.resilience} key that is not one (a typo such as {@code respnse-timeout}), which
 * stops startup instead of leaving the setting silently at its default: names the key, where it was
 * set, and the closest valid key.
 */
// Before Boot's own analyzers, which would describe the same failure without the key's meaning.
@Order(Ordered.HIGHEST_PRECEDENCE)
final class UnknownPropertyFailureAnalyzer extends AbstractFailureAnalyzer<UnboundConfigurationPropertiesException> {

	@Override
	protected @Nullable FailureAnalysis analyze(Throwable rootFailure, UnboundConfigurationPropertiesException cause) {
		List<ConfigurationProperty> ours = cause.getUnboundProperties()
			.stream()
			.filter((property) -> property.getName().toString().startsWith(TisResilienceProperties.PREFIX + "."))
			.sorted()
			.toList();
		if (ours.isEmpty()) {
			return null;
		}
		String description = ours.stream().map(UnknownPropertyFailureAnalyzer::describe).collect(Collectors.joining("\n"));
		return new FailureAnalysis(description,
				"Correct the key" + ((ours.size() > 1) ? "s" : "") + " above. Every key and its meaning: docs/configuration.md.",
				cause);
	}

	private static String describe(ConfigurationProperty property) {
		String key = property.getName().toString();
		String closest = PropertyKeys.closestTo(key);
		String origin = (property.getOrigin() != null) ? " (set in " + property.getOrigin() + ")" : "";
		if (key.equals(closest)) {
			// A valid key whose value is empty binds nothing, and so is reported unbound.
			return key + " is set to an empty value" + origin + "; remove it to keep the default, or give it a value.";
		}
		return key + " is not a tis-resilience property" + origin
				+ ((closest != null) ? "; did you mean " + closest + "?" : ".");
	}

}
