package uk.nhs.hee.tis.resilience.startertests;

import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;

/**
 * A service written as a TIS team writes one: it injects Boot's {@code RestClient.Builder}, calls
 * Profile on its authenticated endpoint, and has a status endpoint that touches no downstream. No
 * line of it mentions the starter.
 */
@SpringBootApplication
public class TcsLikeApplication {

	@RestController
	static class TraineeController {

		private final RestClient profile;

		TraineeController(RestClient.Builder builder, org.springframework.core.env.Environment environment) {
			this.profile = builder.baseUrl(environment.getRequiredProperty("profile.base-url")).build();
		}

		@GetMapping("/api/me")
		String me() {
			return this.profile.get().uri("/api/userinfo").retrieve().body(String.class);
		}

		@GetMapping("/api/status")
		String status() {
			return "UP";
		}

	}

}
