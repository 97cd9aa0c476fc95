package io.berth.junit;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * Runs sample test classes through the JUnit Platform launcher, so a test can look at a registry after the class that
 * used it is done. Sample classes carry {@code @ExtendWith(Samples.OnlyWhenLaunched.class)}: run any other way (an IDE
 * running a whole package), they are skipped.
 */
final class Samples {
    private static final String LAUNCHED = "berth.junit.samples";

    private Samples() {}

    static TestExecutionSummary run(Map<String, String> configuration, Class<?>... classes) {
        Map<String, String> parameters = new HashMap<>(configuration);
        parameters.put(LAUNCHED, "true");
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(Arrays.stream(classes).map(DiscoverySelectors::selectClass).toList())
                .configurationParameters(parameters)
                .enableImplicitConfigurationParameters(false)
                .build();
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        LauncherFactory.create().execute(request, listener);
        return listener.getSummary();
    }

    /** The failures of a run, each as its exception and causes, for an assertion's description. */
    static List<String> failures(TestExecutionSummary summary) {
        return summary.getFailures().stream().map(f -> {
            StringBuilder text = new StringBuilder(f.getTestIdentifier().getDisplayName());
            for (Throwable t = f.getException(); t != null; t = t.getCause()) {
                text.append(" <- ").append(t);
            }
            return text.toString();
        }).toList();
    }

    /** Enables a sample class only inside {@link #run}. */
    static final class OnlyWhenLaunched implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            return context.getConfigurationParameter(LAUNCHED).isPresent()
                    ? ConditionEvaluationResult.enabled("run by Samples")
                    : ConditionEvaluationResult.disabled("a sample class, run by Samples only");
        }
    }
}
