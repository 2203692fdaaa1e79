package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.net.http.HttpClient;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.http.client.autoconfigure.reactive.ReactiveHttpClientAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.webclient.autoconfigure.WebClientAutoConfiguration;

import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A service with WebClient but none of Boot's blocking clients (as a WebFlux service is) still gets the
 * one startup WARN that names every HTTP client the starter cannot protect.
 */
@ExtendWith(OutputCaptureExtension.class)
class WebClientOnlyEgressTests {

	@Test
	void namesAnUnprotectedClientInAServiceWithOnlyWebClient(CapturedOutput output) {
		new ApplicationContextRunner()
			.withConfiguration(AutoConfigurations.of(TisResilienceAutoConfiguration.class,
					ReactiveHttpClientAutoConfiguration.class, WebClientAutoConfiguration.class,
					ReactiveHttpClientResilienceAutoConfiguration.class))
			.withBean("rawHttpClient", HttpClient.class, HttpClient::newHttpClient)
			.run((context) -> {
				assertThat(context).hasNotFailed().hasSingleBean(UnprotectedEgressReport.class);
				assertThat(output).containsOnlyOnce("tis-resilience event=unprotected_egress")
					.contains("rawHttpClient (HttpClient");
			});
	}

}
